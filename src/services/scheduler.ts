import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Clock } from './clock.ts';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Background jobs on cron expressions (node-cron behind a small interface): each expression is
 * checked when the job is added, a job never overlaps itself, autonomous jobs wait while
 * autonomy is paused, and every job's last run, result and next run can be read for `/status`.
 */

export interface JobSpec {
  name: string;
  /** A cron expression: five fields, or six with seconds first. */
  cron: string;
  /** The setting the expression came from, for error messages (e.g. `AUTONOMY_CRON`). */
  setting?: string;
  /** An autonomous job (motivator, curation, fine-tuning) does not start while autonomy is paused. */
  autonomous?: boolean;
  /** Does the work; what it returns is shown as the run's result. */
  run(): Promise<string | undefined>;
}

export interface JobRun {
  startedAt: number;
  finishedAt: number;
  outcome: 'ok' | 'error' | 'skipped';
  message: string;
}

export interface JobStatus {
  name: string;
  cron: string;
  autonomous: boolean;
  running: boolean;
  lastRun?: JobRun;
  /** Milliseconds since the epoch, or null when it will not run again. */
  nextRun: number | null;
}

export interface Scheduler {
  add(spec: JobSpec): void;
  /** Unschedules a job (a run in progress finishes). */
  remove(name: string): Promise<void>;
  /** Runs a job now, as a tick would (same overlap and pause rules); resolves with its run. */
  runNow(name: string): Promise<JobRun>;
  status(): JobStatus[];
  stop(): Promise<void>;
}

/** Checks a cron expression; throws a CONFIG_INVALID error that names the setting and the field. */
export function assertCron(expression: string, setting: string): void {
  const verdict = cron.validateDetailed(expression);
  if (verdict.valid) return;
  const why = verdict.errors
    .map((e) => `${e.field}${e.value ? ` "${e.value}"` : ''}: ${e.message}`)
    .join('; ');
  throw new AppError(
    'CONFIG_INVALID',
    'user',
    `${setting}: "${expression}" is not a valid cron expression (${why || 'unreadable'}). ` +
      'Use five fields (minute hour day-of-month month day-of-week), e.g. "0 */2 * * *" for every two hours.',
  );
}

/**
 * node-cron's own notices about a task (missed executions after a pause of the process, say), for
 * our log. Each task is given the logger of the scheduler that added it: `cron.setLogger` would
 * set one logger for the whole process, so a second scheduler would take over (or, guarded, miss)
 * the notices of the first's jobs.
 */
function cronLogger(log: Logger): CronLogger {
  return {
    info: (message) => log.debug(message),
    warn: (message) => log.warn(message),
    error: (message) => log.error(message instanceof Error ? { err: message } : {}, String(message)),
    debug: (message) => log.debug(String(message)),
  };
}

export function createScheduler(deps: {
  logger: Logger;
  /** Why autonomy is paused, or null when it is not. */
  autonomyPaused?: () => string | null | Promise<string | null>;
  /** Times the runs; node-cron itself fires on the system's timers. */
  clock: Clock;
  /** Counts runs by outcome. */
  onRun?: (job: string, outcome: JobRun['outcome']) => void;
}): Scheduler {
  const log = deps.logger.child({ module: 'scheduler' });
  const now = () => deps.clock.now();
  const jobs = new Map<
    string,
    { spec: JobSpec; task: ScheduledTask; running: Promise<JobRun> | undefined; lastRun?: JobRun }
  >();

  async function tick(name: string): Promise<JobRun> {
    const job = jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    const startedAt = now();
    const skip = (message: string): JobRun => {
      const run: JobRun = { startedAt, finishedAt: startedAt, outcome: 'skipped', message };
      job.lastRun = run;
      deps.onRun?.(name, 'skipped');
      log.info({ job: name, reason: message }, 'job skipped');
      return run;
    };
    if (job.running) return skip('the previous run is still going');
    let paused: string | null | undefined = null;
    try {
      paused = job.spec.autonomous ? await deps.autonomyPaused?.() : null;
    } catch (error) {
      // The proposals' store did not answer (a database away): nobody can say it may run.
      return skip(`autonomy could not be checked: ${(error as Error).message ?? String(error)}`);
    }
    // A tick that came while this one asked is the second: it stands down.
    if (job.running) return skip('the previous run is still going');
    if (paused) return skip(`autonomy is paused: ${paused}`);
    const running = (async (): Promise<JobRun> => {
      try {
        const message = (await job.spec.run()) ?? 'done';
        return { startedAt, finishedAt: now(), outcome: 'ok', message };
      } catch (error) {
        log.error({ err: error, job: name }, 'job failed');
        return {
          startedAt,
          finishedAt: now(),
          outcome: 'error',
          message: (error as Error).message ?? String(error),
        };
      }
    })();
    job.running = running;
    const run = await running;
    job.running = undefined;
    job.lastRun = run;
    deps.onRun?.(name, run.outcome);
    return run;
  }

  return {
    add(spec) {
      if (jobs.has(spec.name)) throw new Error(`a job named ${spec.name} already exists`);
      assertCron(spec.cron, spec.setting ?? spec.name);
      const task = cron.schedule(spec.cron, () => tick(spec.name).then(() => undefined), {
        name: spec.name,
        unref: true,
        logger: cronLogger(log.child({ job: spec.name })),
      });
      jobs.set(spec.name, { spec, task, running: undefined });
      log.info({ job: spec.name, cron: spec.cron, next: task.getNextRun()?.toISOString() }, 'job scheduled');
    },
    runNow: tick,
    async remove(name) {
      const job = jobs.get(name);
      if (!job) return;
      jobs.delete(name);
      await job.task.destroy();
    },
    status() {
      return [...jobs.values()].map(({ spec, task, running, lastRun }) => ({
        name: spec.name,
        cron: spec.cron,
        autonomous: spec.autonomous ?? false,
        running: running !== undefined,
        ...(lastRun ? { lastRun } : {}),
        nextRun: task.getNextRun()?.getTime() ?? null,
      }));
    },
    async stop() {
      for (const job of jobs.values()) await job.task.destroy();
      await Promise.allSettled([...jobs.values()].flatMap((job) => (job.running ? [job.running] : [])));
      jobs.clear();
    },
  };
}
