import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import { createPostgresLeadership, type Leadership, soleLeadership } from '../../services/db/leadership.ts';
import type { Amendments } from '../../services/governance/amendments.ts';
import type { Limiter } from '../../services/llm/limiter.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';
import { createScheduler, type Scheduler } from '../../services/scheduler.ts';
import type { RuntimeMetrics } from './models.ts';

/** The runtime's timed work: the scheduler and who runs its jobs, and the embeddings' retry. */

const EMBED_RETRY_MS = 60_000;

/**
 * Dialogues recorded while the embedding model was unavailable are embedded later. Not while a
 * fine-tune holds the model queue: the pass would only be refused.
 */
export function retryEmbeddings(clock: Clock, limiter: Limiter, memory: Memory): () => void {
  return clock.every(EMBED_RETRY_MS, () => {
    if (!limiter.heldFor) void memory.embedPending().catch(() => undefined);
  });
}

/**
 * Background jobs: autonomous ones wait while amendments pause autonomy; one process of several runs
 * each (the one `leadership` says leads it). The scheduler does not close `leadership`: the same
 * connection holds the lock that shows this process lives (`processOwner.ts`), which must outlast
 * the scheduler while a fine-tune or a draft is still stopping; closing the process owner, last,
 * lets go of both.
 */
export function composeScheduler(
  logger: Logger,
  clock: Clock,
  parts: {
    amendments: Pick<Amendments, 'pausedReason'>;
    metrics: Pick<RuntimeMetrics, 'jobRun'>;
    leadership: Leadership;
  },
): Scheduler {
  return createScheduler({
    logger,
    clock,
    autonomyPaused: () => parts.amendments.pausedReason(),
    onRun: (job, outcome) => parts.metrics.jobRun(job, outcome),
    leadership: { leads: (job) => parts.leadership.leads(job), close: async () => {} },
  });
}

/**
 * Who runs each scheduled job, and the lock that shows this process lives: with several processes
 * on one database, session locks on one connection of this process's (`leadership.ts`), so a
 * process holds a single connection for both; with SQLite this process is the only one.
 */
export function processLeadership(config: Pick<Config, 'databaseUrl'>, logger: Logger): Leadership {
  if (!config.databaseUrl) return soleLeadership;
  return createPostgresLeadership(config.databaseUrl, {
    onError: (err) =>
      logger.warn(
        { err },
        'lost the database connection that decides who runs the jobs and shows this process lives',
      ),
  });
}
