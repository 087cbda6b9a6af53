import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { FinetuneStore } from '../../services/finetune/finetuneStore.ts';
import { createLimiter, type Limiter } from '../../services/llm/limiter.ts';
import { createProviders, type Providers } from '../../services/llm/providers.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../services/llm/retry.ts';
import type { Logger } from '../../services/logger.ts';
import { createNoMetrics, type Metrics } from '../../services/metrics.ts';
import type { PersonaRegistry } from '../../services/personas.ts';

/** What is counted and timed; its registry exists only with `METRICS_PORT`. */
export type RuntimeMetrics = Omit<Metrics, 'registry'> & { registry?: Metrics['registry'] };

/** Numbers the metrics read from parts built after them. */
export interface MetricSources {
  queue(): { active: number; waiting: number };
  goldenSizes(): Promise<Record<string, number>>;
}

/** prom-client loads only with `METRICS_PORT`; without it nothing is counted. */
export async function composeMetrics(
  config: Pick<Config, 'metricsPort'>,
  sources: MetricSources,
): Promise<RuntimeMetrics> {
  if (config.metricsPort === undefined) return createNoMetrics();
  return (await import('../../services/prometheus.ts')).createMetrics(sources);
}

/**
 * The model servers: the call limit (`LLM_CONCURRENCY` slots on each server), and who serves each
 * persona (its `hosts`, least busy first) and the embeddings.
 */
export function composeModels(deps: {
  config: Config;
  logger: Logger;
  clock: Clock;
  metrics: RuntimeMetrics;
  finetunes: Pick<FinetuneStore, 'activeNow'>;
  personas: () => PersonaRegistry;
  retry?: RetryPolicy;
}): { limiter: Limiter; providers: Providers; activeModel: (persona: string) => string | undefined } {
  const { config, metrics } = deps;
  // The metrics see the sum over the servers: one wait histogram, the calls running and waiting.
  const limiter = createLimiter(config.llmConcurrency, (ms) => metrics.queueWait(ms / 1000));
  // A fine-tuned version in force replaces the codex's model, from the next call on. Read at
  // every call, from memory: another process's swap arrives within ACTIVE_REFRESH_MS (5 s).
  const activeModel = (persona: string) => {
    const active = deps.finetunes.activeNow(persona);
    return active && active.version > 0 ? active.model : undefined;
  };
  const providers = createProviders(
    {
      llmProvider: config.llmProvider,
      embedProvider: config.embedProvider,
      ollamaHost: config.ollamaHost,
      openaiBaseUrl: config.openaiBaseUrl,
      openaiApiKey: config.openaiApiKey,
      embedModel: config.embedModel,
      timeoutMs: config.ollamaTimeoutMs,
    },
    {
      metrics,
      activeModel,
      personas: deps.personas,
      logger: deps.logger,
      limiter,
      clock: deps.clock,
      retry: deps.retry ?? { ...DEFAULT_RETRY_POLICY, retries: config.ollamaRetries },
    },
  );
  return { limiter, providers, activeModel };
}
