import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics, MetricsSources } from './metrics.ts';

/** The metrics, counted in a registry of their own and served as Prometheus text (`METRICS_PORT`). */
export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'batos_' });
  const dialogues = new Counter({
    name: 'batos_dialogues_total',
    help: 'Dialogue runs, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const turns = new Counter({
    name: 'batos_turns_total',
    help: 'Persona turns posted',
    labelNames: ['persona'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'batos_model_call_seconds',
    help: 'Model call latency, by persona, model and outcome',
    labelNames: ['persona', 'model', 'outcome'],
    buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320],
    registers: [registry],
  });
  const firstToken = new Histogram({
    name: 'batos_model_first_token_seconds',
    help: 'Time to the first token of an answer, by persona and model',
    labelNames: ['persona', 'model'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40],
    registers: [registry],
  });
  const queueWait = new Histogram({
    name: 'batos_model_queue_wait_seconds',
    help: 'Time a model call waited for a free slot (LLM_CONCURRENCY)',
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300, 1800],
    registers: [registry],
  });
  new Gauge({
    name: 'batos_model_queue_depth',
    help: 'Model calls running and waiting now',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const queue = sources.queue?.();
      if (!queue) return;
      this.set({ state: 'running' }, queue.active);
      this.set({ state: 'waiting' }, queue.waiting);
    },
  });
  const rateLimited = new Counter({
    name: 'batos_discord_rate_limited_total',
    help: 'Discord 429 answers, by scope',
    labelNames: ['scope'],
    registers: [registry],
  });
  const sandbox = new Counter({
    name: 'batos_sandbox_calls_total',
    help: 'Tool calls in the sandbox, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'batos_job_runs_total',
    help: 'Scheduled job runs, by job and outcome',
    labelNames: ['job', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'batos_golden_samples',
    help: 'Golden samples per persona',
    labelNames: ['persona'],
    registers: [registry],
    async collect() {
      for (const [persona, size] of Object.entries((await sources.goldenSizes?.()) ?? {}))
        this.set({ persona }, size);
    },
  });
  return {
    registry,
    dialogue: (outcome) => dialogues.inc({ outcome }),
    turn: (persona) => turns.inc({ persona }),
    modelCall: (persona, model, seconds, outcome) => latency.observe({ persona, model, outcome }, seconds),
    firstToken: (persona, model, seconds) => firstToken.observe({ persona, model }, seconds),
    queueWait: (seconds) => queueWait.observe(seconds),
    discordRateLimited: (scope) => rateLimited.inc({ scope }),
    sandboxCall: (outcome) => sandbox.inc({ outcome }),
    jobRun: (job, outcome) => jobs.inc({ job, outcome }),
  };
}
