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

/** Background jobs: autonomous ones wait while amendments pause autonomy; one process of several runs each. */
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
    leadership: parts.leadership,
  });
}

/**
 * This process's locks, on one database connection of its own: who runs each scheduled job (with
 * several processes on one database, the one holding its lock), and the lock on this process's
 * name that shows it lives (`processOwner.ts`). With SQLite this process is the only one. The
 * process owner built on it closes it, last; the scheduler lets go of its jobs' locks only.
 */
export function processLeadership(config: Config, logger: Logger): Leadership {
  if (!config.databaseUrl) return soleLeadership;
  return createPostgresLeadership(config.databaseUrl, {
    onError: (err) =>
      logger.warn(
        { err },
        "lost the database connection that holds this process's locks (its jobs, its name)",
      ),
  });
}
