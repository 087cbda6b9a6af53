import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Persona, PersonaRegistry } from '../personas.ts';
import {
  type ChatCallOptions,
  type ChatMessage,
  type ChatModel,
  contentToText,
  type ModelFor,
} from './chatModel.ts';
import { deadlineSignal } from './deadline.ts';
import type { Limiter } from './limiter.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from './retry.ts';

/**
 * What every model call goes through, whatever serves it (Ollama, an OpenAI-compatible server):
 * the persona's model (or the fine-tuned one in force), the shared limiter, one deadline per
 * attempt, bounded retries of operational failures, metrics. A provider only says how one
 * attempt is made and how its errors read.
 */

/** One attempt at a call: messages in, text out; with `onToken`, the answer streamed to it. */
export type ProviderCall = (
  persona: Persona,
  messages: readonly ChatMessage[],
  options: { signal: AbortSignal; format?: ChatCallOptions['format']; onToken?: (text: string) => void },
) => Promise<string>;

export interface ModelCallOptions {
  /** For logs and errors: `Ollama`, `the OpenAI-compatible server`. */
  label: string;
  call: ProviderCall;
  /** Turns what the provider threw into an AppError that says what to do. */
  toError: (error: unknown, model: string) => unknown;
  /** Deadline for one attempt, in milliseconds. */
  timeoutMs: number;
  /** The current personas (an amendment may reload them). */
  personas: () => PersonaRegistry;
  /** The fine-tuned model in force for a persona, if any (read at every call: a swap applies to the next). */
  activeModel?: (personaId: string) => string | undefined;
  /** Shared cap on calls in flight; unlimited when absent. */
  limiter?: Limiter;
  metrics?: Pick<Metrics, 'modelCall' | 'firstToken'>;
  clock: Clock;
  /** How a busy or restarting server is tried again (default: 3 retries from 500 ms, doubling). */
  retry?: RetryPolicy;
  logger: Logger;
}

/** Hands each streamed piece to `onToken` and returns the whole text. */
export async function collectStream(
  stream: AsyncIterable<{ content: unknown }>,
  onToken: (text: string) => void,
): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    const piece = contentToText(chunk.content);
    text += piece;
    onToken(piece);
  }
  return text;
}

export function createModelFor(options: ModelCallOptions): ModelFor {
  const log = options.logger.child({ module: 'models' });
  return (personaId, overrides = {}) => {
    const codexPersona = options.personas().get(personaId);
    const persona: Persona = {
      ...codexPersona,
      model: overrides.model ?? options.activeModel?.(personaId) ?? codexPersona.model,
      ...(overrides.temperature !== undefined ? { temperature: overrides.temperature } : {}),
    };
    const model: ChatModel = {
      model: persona.model,
      async invoke(messages, callOptions = {}) {
        let streamed = false;
        const attempt = async () => {
          // One deadline for the attempt (request and streamed answer), cleared when it ends,
          // so the caller's long-lived signal collects no listeners.
          const deadline = deadlineSignal(options.timeoutMs, callOptions.signal);
          const started = options.clock.now();
          let first: number | undefined;
          const onToken = callOptions.onToken;
          try {
            const text = await options.call(persona, messages, {
              signal: deadline.signal,
              ...(callOptions.format ? { format: callOptions.format } : {}),
              ...(onToken
                ? {
                    onToken: (piece: string) => {
                      if (!piece) return;
                      first ??= options.clock.now();
                      streamed = true;
                      onToken(piece);
                    },
                  }
                : {}),
            });
            const seconds = (options.clock.now() - started) / 1000;
            log.debug(
              { persona: personaId, model: persona.model, durationMs: seconds * 1000 },
              'model answered',
            );
            options.metrics?.modelCall(personaId, persona.model, seconds, 'ok');
            // Without streaming, the first token came with the whole answer.
            options.metrics?.firstToken(
              personaId,
              persona.model,
              ((first ?? options.clock.now()) - started) / 1000,
            );
            return text;
          } catch (error) {
            options.metrics?.modelCall(
              personaId,
              persona.model,
              (options.clock.now() - started) / 1000,
              'error',
            );
            // A client that reports its aborted request as an abort still ran out of time.
            const reason: unknown = deadline.signal.aborted ? deadline.signal.reason : undefined;
            const timedOut = (reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
            throw options.toError(timedOut ? reason : error, persona.model);
          } finally {
            deadline.clear();
          }
        };
        const patient = () =>
          withRetry(attempt, {
            clock: options.clock,
            policy: options.retry ?? DEFAULT_RETRY_POLICY,
            signal: callOptions.signal,
            // Words already shown cannot be taken back: a stream that broke off is not retried.
            retryIf: () => !streamed,
            onRetry: (error, tries, waitMs) =>
              log.warn(
                { persona: personaId, model: persona.model, attempt: tries, waitMs, err: error },
                `${options.label} failed; trying again`,
              ),
          });
        if (!options.limiter) return patient();
        const queueOptions: Parameters<Limiter['run']>[1] = {};
        if (callOptions.onQueued) queueOptions.onQueued = callOptions.onQueued;
        if (callOptions.signal) queueOptions.signal = callOptions.signal;
        if (callOptions.priority !== undefined) queueOptions.priority = callOptions.priority;
        return options.limiter.run(patient, queueOptions);
      },
    };
    return model;
  };
}
