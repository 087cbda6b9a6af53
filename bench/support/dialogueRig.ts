import { type ChildProcess, spawn } from 'node:child_process';
import { buildProblem } from '../../scripts/buildCheck.mjs';
import type { PostingLimits } from '../../src/bot/posting/postingScheduler.ts';
import {
  DiscordEmulator,
  type RateLimitOptions,
  type RequestRecord,
} from '../../tests/support/discordEmulator.ts';
import { EMBED_MODEL, emulatorEnv, REPO_ROOT, TEST_MODELS, tempDir } from '../../tests/support/fixtures.ts';
import { OllamaEmulator } from '../../tests/support/ollamaEmulator.ts';

/**
 * One side of a dialogue benchmark: the bot (the composed app in a process of its own) or the
 * floor client, each with its own Discord and Ollama emulators in this process, so that neither
 * side's traffic or stored messages weigh on the other. Latencies are read off the emulator's
 * request log, on this process's `performance.now()` clock.
 */
/** What the bot's process (`botProcess.mjs`) reports. */
export type BotProcessMessage =
  | { type: 'ready' }
  | {
      type: 'heap';
      heapUsed: number;
      rss: number;
      external: number;
      /** Threads in discord.js's cache (active threads stay there until Discord archives them). */
      threads: number;
    }
  | { type: 'warning'; name: string; message: string };

export interface Side {
  readonly name: string;
  readonly discord: DiscordEmulator;
  readonly child: ChildProcess;
  /** Warnings the process reported (the bot only). */
  readonly warnings: string[];
  /** A mention in the channel, as a person writes it; resolves once its four persona posts are in. */
  dialogue(task: string): Promise<DialogueTiming>;
  /** Starts dialogues at once; resolves with each one's timing. */
  dialogues(tasks: readonly string[]): Promise<DialogueTiming[]>;
  /** The bot's live heap after a full collection (the bot only). */
  heap(): Promise<Extract<BotProcessMessage, { type: 'heap' }>>;
  close(): Promise<void>;
}

export interface DialogueTiming {
  /** The dialogue's thread (the id of the mention it was opened on). */
  threadId: string;
  /** From the mention to the arrival of the thread's first persona post, ms. */
  firstPostMs: number;
  /** From the mention to the arrival of its last (fourth) persona post, ms. */
  totalMs: number;
  /** Every persona post's arrival, on the emulator's clock. */
  arrivals: number[];
}

export interface SideOptions {
  /** The emulator's limits (default: none, for overhead alone). */
  rateLimits?: RateLimitOptions;
  /** The bot's posting limits, scaled as the emulator's (default: none in effect). */
  posting?: Partial<PostingLimits>;
  /** How long each model call takes (default 0). */
  modelMs?: number;
  /** Extra node options for the side's process (`--cpu-prof` to see where its time goes). */
  nodeOptions?: string[];
  /** discord.js's sweepers for the bot, over its own (JSON-able). */
  sweepers?: Record<string, unknown>;
  /**
   * Whether the bot streams its turns (default false: the floor posts each turn whole, so the
   * bot does the same to be compared; `bench/streaming.bench.ts` measures streaming).
   */
  stream?: boolean;
  /** More settings for the bot's process (`DATABASE_URL`, say). */
  env?: Record<string, string>;
}

const NO_LIMITS: RateLimitOptions = {
  webhook: false,
  channelWebhookMessages: false,
  global: false,
  channelMessages: false,
};
const UNPACED: Partial<PostingLimits> = {
  webhook: { limit: 1_000_000, windowMs: 1_000 },
  channel: { limit: 1_000_000, windowMs: 1_000 },
  marginMs: 0,
};
export const EXECUTE = 'POST /webhooks/:webhook/:token';
const POSTS_PER_DIALOGUE = 4;

const taskOf = (content: string) => /The Architect's request:\n(.*)/.exec(content)?.[1] ?? '';

/** Watches the emulator's request log for each thread's persona posts, reading each record once. */
function watchPosts(discord: DiscordEmulator) {
  const byThread = new Map<string, RequestRecord[]>();
  let read = 0;
  const scan = () => {
    for (; read < discord.requests.length; read += 1) {
      const record = discord.requests[read]!;
      const thread = record.query.thread_id;
      if (record.route !== EXECUTE || !thread) continue;
      byThread.set(thread, [...(byThread.get(thread) ?? []), record]);
    }
  };
  return async (threadId: string, timeoutMs = 60_000): Promise<number[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      scan();
      const delivered = (byThread.get(threadId) ?? []).filter((r) => r.status === 200);
      if (delivered.length >= POSTS_PER_DIALOGUE) {
        byThread.delete(threadId);
        return delivered.map((r) => r.arrivedAt);
      }
      if (Date.now() > deadline)
        throw new Error(`thread ${threadId}: ${delivered.length} posts after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
}

/**
 * Starts one side. The bot runs from dist/ (as `npm start` does), so the build must be current.
 */
export async function startSide(kind: 'bot' | 'floor', options: SideOptions = {}): Promise<Side> {
  const problem = kind === 'bot' ? buildProblem(REPO_ROOT) : undefined;
  if (problem) throw new Error(`the bot's benchmarks run the build: ${problem}`);
  const discord = await DiscordEmulator.start({ rateLimits: options.rateLimits ?? NO_LIMITS });
  const ollama = await OllamaEmulator.start({ models: [...Object.values(TEST_MODELS), EMBED_MODEL] });
  const delayMs = options.modelMs ?? 0;
  ollama.respond((request) => {
    const prompt = request.messages[1]?.content ?? '';
    const task = taskOf(prompt);
    const reply = (content: string) => (delayMs ? { content, delayMs } : content);
    if (request.model === TEST_MODELS.ROBIN) return reply(`antithesis ${task}\nDISSONANCE: 0.1`);
    if (request.model === TEST_MODELS.BRICK) return reply(`thesis ${task}`);
    return reply(/Final draft/.test(prompt) ? `answer ${task}` : `plan ${task}`);
  });
  const dir = tempDir();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...emulatorEnv(discord, ollama, dir.path),
    MEMBER_RUNS_PER_HOUR: '0',
    STREAM_TURNS: String(options.stream ?? false),
    LOG_LEVEL: 'warn',
    FLOOR_MODELS: [TEST_MODELS.ALFRED, TEST_MODELS.BRICK, TEST_MODELS.ROBIN].join(','),
    BENCH_POSTING: JSON.stringify(options.posting ?? UNPACED),
    ...(options.sweepers ? { BENCH_SWEEPERS: JSON.stringify(options.sweepers) } : {}),
    ...options.env,
  };
  const args =
    kind === 'bot'
      ? [...(options.nodeOptions ?? []), '--expose-gc', 'bench/support/botProcess.mjs']
      : [...(options.nodeOptions ?? []), 'bench/floor/floorBot.mjs'];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const warnings: string[] = [];
  const heaps: Array<(message: Extract<BotProcessMessage, { type: 'heap' }>) => void> = [];
  child.on('message', (message: BotProcessMessage) => {
    if (message.type === 'warning') warnings.push(`${message.name}: ${message.message}`);
    if (message.type === 'heap') heaps.shift()?.(message);
  });
  await discord.waitFor(() => discord.connected || undefined, 60_000);
  const userId = discord.createUser('bench');
  const postsOf = watchPosts(discord);

  const begin = (task: string) => {
    const startedAt = performance.now();
    const message = discord.userSays(userId, discord.channelId, task, { mentionBot: true });
    return postsOf(message.id).then((arrivals) => ({
      threadId: message.id,
      firstPostMs: Math.min(...arrivals) - startedAt,
      totalMs: Math.max(...arrivals) - startedAt,
      arrivals,
    }));
  };
  return {
    name: kind,
    discord,
    child,
    warnings,
    dialogue: begin,
    dialogues: (tasks) => Promise.all(tasks.map(begin)),
    heap() {
      return new Promise((resolve) => {
        heaps.push(resolve);
        child.send({ type: 'heap' });
      });
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (kind === 'bot') child.send({ type: 'stop' });
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      await discord.close();
      await ollama.close();
      dir.cleanup();
    },
  };
}
