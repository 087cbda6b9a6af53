import type { Clock } from '../clock.ts';
import { findAppError } from '../errors.ts';
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
import { createLimiter, type Limiter, type LimiterOptions, type ServerTurn } from './limiter.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, withRetry } from './retry.ts';

/**
 * What every model call goes through, whatever serves it (Ollama, an OpenAI-compatible server):
 * the persona's model (or the fine-tuned one in force), the least busy of the persona's servers
 * and its queue, one deadline per attempt, bounded retries of operational failures, the next
 * server when one cannot be reached, metrics. A provider only says how one attempt is made on a
 * server and how its errors read.
 */

/** One attempt at a call on one server: messages in, text out; with `onToken`, the answer streamed to it. */
export type ProviderCall = (
  persona: Persona,
  messages: readonly ChatMessage[],
  options: {
    signal: AbortSignal;
    /** The server's base URL. */
    server: string;
    format?: ChatCallOptions['format'];
    onToken?: (text: string) => void;
  },
) => Promise<string>;

export interface ModelCallOptions {
  /** For logs and errors: `Ollama`, `the OpenAI-compatible server`. */
  label: string;
  call: ProviderCall;
  /** Turns what the provider threw (on `server`) into an AppError that says what to do. */
  toError: (error: unknown, model: string, server: string) => unknown;
  /**
   * The servers that may answer for a persona (base URLs): its `hosts` in the codex, else the
   * provider's one. Each call goes to the least busy of them.
   */
  serversOf: (personaId: string) => readonly string[];
  /** Deadline for one attempt, in milliseconds. */
  timeoutMs: number;
  /** The current personas (an amendment may reload them). */
  personas: () => PersonaRegistry;
  /** The fine-tuned model in force for a persona, if any (read at every call: a swap applies to the next). */
  activeModel?: (personaId: string) => string | undefined;
  /** The cap on calls in flight, a queue per server; unlimited when absent. */
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

/** The errors that say a server cannot be reached at all (down, or nothing listening there). */
const UNREACHABLE = new Set(['OLLAMA_UNREACHABLE', 'LLM_UNREACHABLE']);

/** Whether a call failed because its server cannot be reached, so another server may take it. */
export function isUnreachable(error: unknown): boolean {
  return UNREACHABLE.has(findAppError(error)?.code ?? '');
}

export function createModelFor(options: ModelCallOptions): ModelFor {
  const calls: ModelCalls = {
    options,
    log: options.logger.child({ module: 'models' }),
    // Without a cap the calls still go to the least busy server, and on past one that is down.
    limiter: options.limiter ?? createLimiter(Number.POSITIVE_INFINITY),
  };
  return (personaId, overrides = {}) => {
    const codexPersona = options.personas().get(personaId);
    const persona: Persona = {
      ...codexPersona,
      model: overrides.model ?? options.activeModel?.(personaId) ?? codexPersona.model,
      ...(overrides.temperature !== undefined ? { temperature: overrides.temperature } : {}),
    };
    const model: ChatModel = {
      model: persona.model,
      invoke: (messages, callOptions = {}) => invokeModel(calls, persona, messages, callOptions),
    };
    return model;
  };
}

interface ModelCalls {
  options: ModelCallOptions;
  log: Logger;
  limiter: Limiter;
}

/** Whether one call's answer has begun to stream (words shown cannot be taken back). */
interface Streaming {
  streamed: boolean;
}

/**
 * One call: a slot on the least busy server, retries there of what a retry may fix, and the next
 * server at once when this one cannot be reached (its retries only where no other is left).
 */
function invokeModel(
  calls: ModelCalls,
  persona: Persona,
  messages: readonly ChatMessage[],
  callOptions: ChatCallOptions,
): Promise<string> {
  const { options, log } = calls;
  const streaming: Streaming = { streamed: false };
  const onServer = ({ server, last }: ServerTurn) =>
    withRetry(() => attempt(calls, persona, messages, callOptions, server, streaming), {
      clock: options.clock,
      policy: options.retry ?? DEFAULT_RETRY_POLICY,
      signal: callOptions.signal,
      // Words already shown cannot be taken back: a stream that broke off is not retried.
      retryIf: (error) => !streaming.streamed && (last || !isUnreachable(error)),
      onRetry: (error, tries, waitMs) =>
        log.warn(
          { persona: persona.id, model: persona.model, attempt: tries, waitMs, err: error },
          `${options.label} failed; trying again`,
        ),
    });
  const queueOptions: LimiterOptions = {
    servers: options.serversOf(persona.id),
    failOver: (error) => !streaming.streamed && isUnreachable(error),
    onFailOver: (error, from, to) =>
      log.warn(
        { persona: persona.id, model: persona.model, server: from, next: to, err: error },
        `${options.label} at ${from} cannot be reached; trying ${to}`,
      ),
  };
  if (callOptions.onQueued) queueOptions.onQueued = callOptions.onQueued;
  if (callOptions.signal) queueOptions.signal = callOptions.signal;
  if (callOptions.priority !== undefined) queueOptions.priority = callOptions.priority;
  return calls.limiter.run(onServer, queueOptions);
}

/** One attempt on one server, with its own deadline (request and streamed answer), timed and counted. */
async function attempt(
  calls: ModelCalls,
  persona: Persona,
  messages: readonly ChatMessage[],
  callOptions: ChatCallOptions,
  server: string,
  streaming: Streaming,
): Promise<string> {
  const { options, log } = calls;
  // One deadline for the attempt, cleared when it ends, so the caller's long-lived signal
  // collects no listeners.
  const deadline = deadlineSignal(options.timeoutMs, callOptions.signal);
  const started = options.clock.now();
  let first: number | undefined;
  const onToken = callOptions.onToken;
  try {
    const text = await options.call(persona, messages, {
      signal: deadline.signal,
      server,
      ...(callOptions.format ? { format: callOptions.format } : {}),
      ...(onToken
        ? {
            onToken: (piece: string) => {
              if (!piece) return;
              first ??= options.clock.now();
              streaming.streamed = true;
              onToken(piece);
            },
          }
        : {}),
    });
    const seconds = (options.clock.now() - started) / 1000;
    log.debug({ persona: persona.id, model: persona.model, durationMs: seconds * 1000 }, 'model answered');
    options.metrics?.modelCall(persona.id, persona.model, seconds, 'ok');
    // Without streaming, the first token came with the whole answer.
    options.metrics?.firstToken(persona.id, persona.model, ((first ?? options.clock.now()) - started) / 1000);
    return text;
  } catch (error) {
    options.metrics?.modelCall(persona.id, persona.model, (options.clock.now() - started) / 1000, 'error');
    // A client that reports its aborted request as an abort still ran out of time.
    const reason: unknown = deadline.signal.aborted ? deadline.signal.reason : undefined;
    const timedOut = (reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
    throw options.toError(timedOut ? reason : error, persona.model, server);
  } finally {
    deadline.clear();
  }
}
