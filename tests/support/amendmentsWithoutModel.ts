import { readFileSync } from 'node:fs';
import { systemClock } from '../../src/services/clock.ts';
import { type Codex, parseCodex } from '../../src/services/codex/loadCodex.ts';
import { createEventBus } from '../../src/services/eventBus.ts';
import { type Amendments, createAmendments } from '../../src/services/governance/amendments.ts';
import type { ProposalStore } from '../../src/services/governance/proposalStore.ts';
import { createSilentLogger } from '../../src/services/logger.ts';

/**
 * The philosophical loop of one process over `store` and the codex file at `codexPath`, with no model
 * (nothing is drafted): what a test or a crash script needs to approve amendments through the real
 * path. `codex()` is the codex this process holds in force, the file as read at start until an
 * approval applies the next one.
 */
export async function amendmentsWithoutModel(
  store: ProposalStore,
  codexPath: string,
  dataDir: string,
): Promise<{ store: ProposalStore; amendments: Amendments; codex: () => Codex }> {
  let inForce = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
  const amendments = await createAmendments({
    store,
    records: { between: () => [] },
    modelFor: () => {
      throw new Error('no model in this test');
    },
    systemPrompt: () => '',
    codex: () => inForce,
    codexPath,
    dataDir,
    applyCodex: (next) => {
      inForce = next;
    },
    bus: createEventBus(),
    clock: systemClock,
    logger: createSilentLogger(),
  });
  return { store, amendments, codex: () => inForce };
}
