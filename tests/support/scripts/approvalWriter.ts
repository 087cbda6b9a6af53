/**
 * Run with `node --import tsx … <data dir> <codex path>`: approves codex amendments one after
 * another through the real approval path (intent, archive, durable write, completion), printing
 * `approved <version>` after each. A crash test kills it at random moments.
 */
import { ProposalStore } from '../../../src/services/governance/proposalStore.ts';
import { amendmentsWithoutModel } from '../amendmentsWithoutModel.ts';

const [dataDir = '.', codexPath = ''] = process.argv.slice(2);
const store = await ProposalStore.open({ dataDir });
const { amendments, codex: inForce } = await amendmentsWithoutModel(store, codexPath, dataDir);
for (;;) {
  const codex = inForce();
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
