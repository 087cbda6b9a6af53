import { join } from 'node:path';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { FineTuner } from '../../services/finetune/fineTuner.ts';
import { createForgetting, type Forgetting } from '../../services/forgetting/forgetting.ts';
import type { Forgotten } from '../../services/forgetting/forgotten.ts';
import { forgetProposalEvidence } from '../../services/forgetting/proposalEvidence.ts';
import type { Amendments } from '../../services/governance/amendments.ts';
import type { ProposalStore } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';

/** `/memory forget` beyond the memory, curation and the conversation's own state: every other place its words are kept. */
export function composeForgetting(parts: {
  config: Config;
  logger: Logger;
  clock: Clock;
  memory: Memory;
  fineTuner: FineTuner;
  proposals: ProposalStore;
  /** The loop's own forget: its evidence blanked and marked forgotten, so a history never posts it. */
  amendments: Pick<Amendments, 'forgetEvidence'>;
  /** The dialogue built on first use (`lazyDialogue`): it cuts a quote from the other conversations' checkpoints. */
  dialogue: { forgetQuotes(forgotten: Forgotten): Promise<number> };
}): Forgetting {
  return createForgetting({
    memory: parts.memory,
    checkpoints: parts.dialogue,
    fineTuner: parts.fineTuner,
    // The loop marks the evidence forgotten; then every copy of its words in the proposals is cut.
    evidence: async (forgotten) => [
      ...new Set([
        ...(await parts.amendments.forgetEvidence(forgotten.ids)),
        ...(await forgetProposalEvidence(parts.proposals, forgotten, parts.clock.now())),
      ]),
    ],
    logsDir: join(parts.config.dataDir, 'logs'),
    logger: parts.logger,
  });
}
