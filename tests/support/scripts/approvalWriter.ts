/**
 * Run with `node --import tsx … <data dir> <codex path>`: approves codex amendments one after
 * another through the real approval path (intent, archive, durable write, completion), printing
 * `approved <version>` after each. A crash test kills it at random moments.
 */
import { readFileSync } from 'node:fs';
import { systemClock } from '../../../src/services/clock.ts';
import { parseCodex } from '../../../src/services/codex/loadCodex.ts';
import { createEventBus } from '../../../src/services/eventBus.ts';
import { createAmendments } from '../../../src/services/governance/amendments.ts';
import { ProposalStore } from '../../../src/services/governance/proposalStore.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';

const [dataDir = '.', codexPath = ''] = process.argv.slice(2);
let codex = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
const store = await ProposalStore.open({ dataDir });
const amendments = await createAmendments({
  store,
  records: { between: () => [] },
  modelFor: () => {
    throw new Error('no model in this test');
  },
  systemPrompt: () => '',
  codex: () => codex,
  codexPath,
  dataDir,
  applyCodex: (next) => {
    codex = next;
  },
  bus: createEventBus(),
  clock: systemClock,
  logger: createSilentLogger(),
});
for (;;) {
  const version = codex.data.version;
  const id = await store.nextId();
  await store.create({
    id,
    kind: 'amendment',
    state: 'pending',
    title: `amendment ${id}`,
    principles: [],
    rationale: '',
    consequences: '',
    baseHash: codex.hash,
    baseVersion: version,
    // Each amendment changes the codex's name: the text differs every time.
    newCodex: codex.source.replace(/^name = ".*"$/m, `name = "BAT OS ${id}"`),
    diff: '',
    history: [],
    evidence: [],
    requestedBy: 'system',
    createdAt: Date.now(),
    updatedAt: Date.now(),
    openedBy: ['architect-1'],
  });
  const decision = await amendments.approve(id, 'architect-1');
  if (!decision.ok) throw new Error(`approval refused: ${decision.reason}`);
  process.stdout.write(`approved ${version + 1}\n`);
}
