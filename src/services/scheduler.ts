import cron, { type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Clock } from './clock.ts';
import type { Leadership } from './db/leadership.ts';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * Background jobs on cron expressions (node-cron behind a small interface): each expression is
 * checked when the job is added, a job never overlaps itself, autonomous jobs wait while
 * autonomy is paused, a job runs in one process of several (the one that leads it), and every
 * job's last run, result and next run can be read for `/status`.
 */

/** What a process that does not lead a job records for its tick. */
export const LED_ELSEWHERE = 'another process runs it';

export interface JobSpec {
  name: string;
  /** A cron expression: five fields, or six with seconds first. */
  cron: string;
  /** The setting the expression came from, for error messages (e.g. `AUTONOMY_CRON`). */
  setting?: string;
  /** An autonomous job (motivator, curation, fine-tuning) does not start while autonomy is paused. */
  autonomous?: boolean;
  /**
   * A job that must run in every process (a per-process cache, say). Every other job writes state
   * the processes share (curation, fine-tuning, the motivator), so only the process that leads it
   * runs it; the others record `LED_ELSEWHERE`.
   */
  everyProcess?: boolean;
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
  /** True when, at its last tick, another process led it (and so ran it). */
  ledElsewhere: boolean;
}

export interface Scheduler {
  add(spec: JobSpec): void;
  /** Unschedules a job (a run in progress finishes). */
  remove(name: string): Promise<void>;
  /** Runs a job now, as a tick would (same overlap and pause rules); resolves with its run. */
  runNow(name: string): Promise<JobRun>;
  status(): JobStatus[];
  /**
   * Unschedules every job, waits for the runs in progress, and lets go of the jobs this process
   * led (their locks only: the leadership is the process's, closed by whoever made it).
   */
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

interface SchedulerDeps {
  logger: Logger;
  /** Why autonomy is paused, or null when it is not. */
  autonomyPaused?: () => string | null | Promise<string | null>;
  /** Times the runs; node-cron itself fires on the system's timers. */
  clock: Clock;
  /** Counts runs by outcome. */
  onRun?: (job: string, outcome: JobRun['outcome']) => void;
  /** Which jobs this process runs, of several (default: all, as the only process); its jobs let go on `stop`. */
  leadership?: Leadership;
}

interface ScheduledJob {
  spec: JobSpec;
  task: ScheduledTask;
  running: Promise<JobRun> | undefined;
  lastRun?: JobRun;
  /** Whether this process led the job at its last tick; undefined before the first. */
  leads?: boolean;
}

const skipped = (startedAt: number, message: string): JobRun => ({
  startedAt,
  finishedAt: startedAt,
  outcome: 'skipped',
  message,
});

/**
 * Whether this process runs the job now. A change of leader is logged once, where it happens: an
 * operator reads which process runs what, and a process that lost a job knows it.
 */
async function leadsNow(deps: SchedulerDeps, log: Logger, job: ScheduledJob): Promise<boolean> {
  if (job.spec.everyProcess || !deps.leadership) return true;
  // Unsure who leads, this process does not run it: a job must not run twice.
  const leads = await deps.leadership.leads(job.spec.name).catch((error: unknown) => {
    log.warn({ err: error, job: job.spec.name }, 'could not tell which process runs the job');
    return false;
  });
  const before = job.leads;
  job.leads = leads;
  if (before === leads) return leads;
  if (leads) log.info({ job: job.spec.name }, 'this process runs the job');
  else if (before) log.warn({ job: job.spec.name }, 'another process took the job over');
  else log.info({ job: job.spec.name }, 'another process runs the job');
  return leads;
}

/** One tick's work once it may start: leadership, the pause, then the job itself. */
async function attempt(
  deps: SchedulerDeps,
  log: Logger,
  job: ScheduledJob,
  startedAt: number,
): Promise<JobRun> {
  if (!(await leadsNow(deps, log, job))) return skipped(startedAt, LED_ELSEWHERE);
  let paused: string | null | undefined = null;
  try {
    paused = job.spec.autonomous ? await deps.autonomyPaused?.() : null;
  } catch (error) {
    // The proposals' store did not answer (a database away): nobody can say it may run.
    return skipped(startedAt, `autonomy could not be checked: ${(error as Error).message ?? String(error)}`);
  }
  if (paused) return skipped(startedAt, `autonomy is paused: ${paused}`);
  try {
    const message = (await job.spec.run()) ?? 'done';
    return { startedAt, finishedAt: deps.clock.now(), outcome: 'ok', message };
  } catch (error) {
    log.error({ err: error, job: job.spec.name }, 'job failed');
    return {
      startedAt,
      finishedAt: deps.clock.now(),
      outcome: 'error',
      message: (error as Error).message ?? String(error),
    };
  }
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ module: 'scheduler' });
  const jobs = new Map<string, ScheduledJob>();

  const record = (name: string, job: ScheduledJob, run: JobRun): JobRun => {
    job.lastRun = run;
    deps.onRun?.(name, run.outcome);
    // Not leading is the normal state of every process but one: not worth a line each tick.
    if (run.outcome === 'skipped' && run.message !== LED_ELSEWHERE) {
      log.info({ job: name, reason: run.message }, 'job skipped');
    }
    return run;
  };

  async function tick(name: string): Promise<JobRun> {
    const job = jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    const startedAt = deps.clock.now();
    if (job.running) return record(name, job, skipped(startedAt, 'the previous run is still going'));
    const running = attempt(deps, log, job, startedAt);
    job.running = running;
    const run = await running;
    job.running = undefined;
    return record(name, job, run);
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
      return [...jobs.values()].map(({ spec, task, running, lastRun, leads }) => ({
        name: spec.name,
        cron: spec.cron,
        autonomous: spec.autonomous ?? false,
        running: running !== undefined,
        ...(lastRun ? { lastRun } : {}),
        nextRun: task.getNextRun()?.getTime() ?? null,
        ledElsewhere: leads === false,
      }));
    },
    async stop() {
      for (const job of jobs.values()) await job.task.destroy();
      await Promise.allSettled([...jobs.values()].flatMap((job) => (job.running ? [job.running] : [])));
      const led = [...jobs.values()].filter((job) => job.leads).map((job) => job.spec.name);
      jobs.clear();
      // The jobs are free at once for another process to take at its next tick.
      await Promise.all(led.map((name) => deps.leadership?.release(name)));
    },
  };
}
