import type { FineTuner } from '../finetune/fineTuner.ts';
import type { FinetuneForgetReport } from '../finetune/forgottenDatasets.ts';
import type { Logger } from '../logger.ts';
import type { DialogueRecord } from '../memory/interactionLog.ts';
import type { Memory } from '../memory/memory.ts';
import { type Forgotten, forgottenOf } from './forgotten.ts';
import { forgetInLogFiles } from './logFiles.ts';

/**
 * `/memory forget`, beyond the records, the vectors, the golden sets and the conversation's own
 * state (which the memory, curation and the dialogue forget themselves): every other place the
 * project keeps a forgotten dialogue's words. The dialogues that recalled it (a plan's prompt
 * quoted it: their records and their checkpoints), the fine-tune datasets and exams frozen from
 * it, the codex proposals that cite it as evidence, and the log files under `DATA_DIR`. Each
 * part is tried even when another fails; what failed is said.
 */

export interface ForgetTracesReport {
  /** Records of dialogues that recalled it, its quotes cut from them. */
  recalling: number;
  /** Conversations whose stored state quoted it. */
  checkpoints: number;
  /** Proposals whose evidence or history held it. */
  proposals: string[];
  finetune: FinetuneForgetReport;
  /** Lines dropped from the log files. */
  logLines: number;
  /** Parts that could not be done (their words may remain); said to the member. */
  failed: string[];
}

export interface Forgetting {
  /** Cuts a forgotten conversation's records from every other place that holds their words. */
  traces(conversationId: string, records: readonly DialogueRecord[]): Promise<ForgetTracesReport>;
}

export interface ForgettingDeps {
  memory: Pick<Memory, 'forgetQuotes'>;
  /** The conversations' stored state (LangGraph's checkpoints). */
  checkpoints: { forgetQuotes(forgotten: Forgotten): Promise<number> };
  fineTuner: Pick<FineTuner, 'forgetDialogues'>;
  /** Cuts it from the proposals' evidence; returns the proposals changed. */
  evidence: (forgotten: Forgotten) => Promise<string[]>;
  /** The terminal programs' log files (`DATA_DIR/logs`). */
  logsDir: string;
  logger: Logger;
}

const NOTHING_IN_FINETUNE: FinetuneForgetReport = { tainted: [], examPrompts: 0, inForce: [] };

export function createForgetting(deps: ForgettingDeps): Forgetting {
  const log = deps.logger.child({ module: 'forgetting' });
  return {
    traces: (conversationId, records) => forgetTraces(deps, log, forgottenOf(conversationId, records)),
  };
}

async function forgetTraces(
  deps: ForgettingDeps,
  log: Logger,
  forgotten: Forgotten,
): Promise<ForgetTracesReport> {
  const failed: string[] = [];
  const attempt = async <T>(part: string, work: () => T | Promise<T>, otherwise: T): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      log.error(
        { err: error, conversationId: forgotten.conversationId, part },
        'could not forget a dialogue there',
      );
      failed.push(part);
      return otherwise;
    }
  };
  const report: ForgetTracesReport = {
    recalling: await attempt('the dialogues that recalled it', () => deps.memory.forgetQuotes(forgotten), 0),
    checkpoints: await attempt('their conversation state', () => deps.checkpoints.forgetQuotes(forgotten), 0),
    proposals: await attempt('the proposals’ evidence', () => deps.evidence(forgotten), []),
    finetune: await attempt(
      'the fine-tune datasets',
      () => deps.fineTuner.forgetDialogues(forgotten),
      NOTHING_IN_FINETUNE,
    ),
    logLines: await attempt('the log files', () => forgetInLogFiles(deps.logsDir, forgotten), 0),
    failed,
  };
  log.info(
    {
      conversationId: forgotten.conversationId,
      recalling: report.recalling,
      checkpoints: report.checkpoints,
      proposals: report.proposals.length,
      tainted: report.finetune.tainted.map((job) => job.id),
      examPrompts: report.finetune.examPrompts,
      logLines: report.logLines,
      failed,
    },
    'forgotten dialogue cut from everywhere else',
  );
  return report;
}
