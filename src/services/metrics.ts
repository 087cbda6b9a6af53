import type { Registry } from 'prom-client';

/**
 * What the bot counts and times, for Prometheus (`METRICS_PORT`): dialogues and turns, model
 * latency, the model queue, Discord's rate limits, sandbox calls, jobs, golden sets, and the
 * process itself. Its own registry (prom-client's default one is a module-level global).
 * `prometheus.ts` counts; it is loaded only with `METRICS_PORT` (prom-client weighs on a start).
 */
export interface Metrics {
  readonly registry: Registry;
  dialogue(outcome: 'done' | 'failed' | 'stopped'): void;
  turn(persona: string): void;
  /** One model call: its persona, model, seconds, and whether it answered. */
  modelCall(persona: string, model: string, seconds: number, outcome: 'ok' | 'error'): void;
  /** Seconds from the request to the first token of an answer. */
  firstToken(persona: string, model: string, seconds: number): void;
  /** Seconds a call waited for a free model slot. */
  queueWait(seconds: number): void;
  /** A 429 from Discord (`scope`: user, shared, global), or a request retried after one. */
  discordRateLimited(scope: string): void;
  sandboxCall(outcome: string): void;
  jobRun(job: string, outcome: 'ok' | 'error' | 'skipped'): void;
}

export interface MetricsSources {
  /** Calls running and waiting in the model queue now. */
  queue?: () => { active: number; waiting: number };
  /** Golden samples per persona now (read when `/metrics` is scraped). */
  goldenSizes?: () => Promise<Record<string, number>>;
}

/** Counts nothing: for the terminal programs and a bot without `METRICS_PORT`. */
export function createNoMetrics(): Omit<Metrics, 'registry'> {
  const nothing = () => undefined;
  return {
    dialogue: nothing,
    turn: nothing,
    modelCall: nothing,
    firstToken: nothing,
    queueWait: nothing,
    discordRateLimited: nothing,
    sandboxCall: nothing,
    jobRun: nothing,
  };
}
