import { createServerQueue, type QueueOptions, type ServerQueue } from './serverQueue.ts';

/**
 * The cap on model calls, one queue per model server (its base URL): each server has its own
 * `LLM_CONCURRENCY` slots, so a busy GPU never makes another one's callers wait. A call names the
 * servers that may take it (a persona's `hosts`); it goes to the one with the least work in flight
 * and, when that one cannot be reached, to the next.
 */
export interface Limiter {
  /**
   * Runs `task` when a slot is free on one of `servers` (see {@link LimiterOptions}); the task is
   * told which server it got. A call that names no server waits in one queue of its own.
   */
  run<T>(task: (turn: ServerTurn) => Promise<T>, options?: LimiterOptions): Promise<T>;
  /** Calls running now, on every server. */
  readonly active: number;
  /** Calls waiting for a slot, on every server. */
  readonly waiting: number;
  /** Each server's calls running and waiting, in the order the servers were first used. */
  loads(): ServerLoad[];
  /**
   * Holds every new call on every server, those first used during the hold too, until the returned
   * function is called (the GPU is lent to a fine-tune); waiting callers are told `reason`. Calls
   * already running finish. Every server, because the bot cannot know which GPU the trainer takes
   * (`FINETUNE_COMMAND` may run it anywhere), and the fine-tune unloads every persona's model from
   * every server it frees: `FINETUNE_EXCLUSIVE=false` is for a trainer with a GPU of its own.
   */
  hold(reason: string): () => void;
  /** Why calls are held, if they are. */
  readonly heldFor: string | undefined;
  /** Resolves once no call is running on any server (the held ones aside). */
  drained(): Promise<void>;
}

/** Where a call runs: the server it got, and whether another would be tried if this one is down. */
export interface ServerTurn {
  /** The server's base URL (`''` for a call that named none). */
  server: string;
  /** No other server is left to try: the call's own retries are its last chance. */
  last: boolean;
}

export interface LimiterOptions extends QueueOptions {
  /**
   * The servers that may take the call (base URLs), in order of preference: the one with the
   * least work in flight (running and waiting) gets it, ties going to the earlier one.
   */
  servers?: readonly string[];
  /** Whether a failure says the server is down, so the call is tried on the next (default: never). */
  failOver?: (error: unknown) => boolean;
  /** Told when a call leaves a server that is down for another. */
  onFailOver?: (error: unknown, from: string, to: string) => void;
}

export interface ServerLoad {
  server: string;
  active: number;
  waiting: number;
}

/** The priority of background model calls: they wait behind every person's dialogue. */
export const BACKGROUND_PRIORITY = -10;

/** One server, one key: `http://gpu1:11434/` and `http://gpu1:11434` share a queue. */
export const serverKey = (url: string): string => url.trim().replace(/\/+$/, '');

/**
 * The servers in the order a call tries them: least work in flight (running and waiting) first,
 * ties in the order given, each once.
 */
export function leastBusy(servers: readonly string[], work: (server: string) => number): string[] {
  return [...new Set(servers)]
    .map((server, index) => ({ server, index, work: work(server) }))
    .sort((a, b) => a.work - b.work || a.index - b.index)
    .map(({ server }) => server);
}

export function createLimiter(
  /** Each server's slots (`LLM_CONCURRENCY`). */
  concurrency: number,
  /** Told how long each call waited for its slot, in milliseconds (metrics). */
  onWaited?: (ms: number) => void,
): Limiter {
  const queues = new Map<string, ServerQueue>();
  /** The holds in force, each with what lets go of every queue it holds. */
  const holds = new Set<{ reason: string; releases: Array<() => void> }>();
  const queueOf = (server: string): ServerQueue => {
    let queue = queues.get(server);
    if (!queue) {
      queue = createServerQueue(concurrency, onWaited);
      // A server first asked during a fine-tune waits like the others.
      for (const hold of holds) hold.releases.push(queue.hold(hold.reason));
      queues.set(server, queue);
    }
    return queue;
  };
  const work = (server: string) => {
    const queue = queues.get(server);
    return queue ? queue.active + queue.waiting : 0;
  };
  const sum = (count: (queue: ServerQueue) => number) =>
    [...queues.values()].reduce((total, queue) => total + count(queue), 0);
  return {
    get active() {
      return sum((queue) => queue.active);
    },
    get waiting() {
      return sum((queue) => queue.waiting);
    },
    loads: () =>
      [...queues].map(([server, queue]) => ({ server, active: queue.active, waiting: queue.waiting })),
    get heldFor() {
      return [...holds].at(-1)?.reason;
    },
    hold(reason) {
      const hold = { reason, releases: [...queues.values()].map((queue) => queue.hold(reason)) };
      holds.add(hold);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds.delete(hold);
        for (const release of hold.releases) release();
      };
    },
    drained: async () => {
      await Promise.all([...queues.values()].map((queue) => queue.drained()));
    },
    run: (task, options = {}) => runOnLeastBusy({ queueOf, work }, task, options),
  };
}

/**
 * Runs a call on the least busy of its servers; while the server it got is down (as `failOver`
 * says) and another is left, the call goes on to the least busy of the rest, waiting there for a
 * slot like any other call.
 */
async function runOnLeastBusy<T>(
  pool: { queueOf: (server: string) => ServerQueue; work: (server: string) => number },
  task: (turn: ServerTurn) => Promise<T>,
  options: LimiterOptions,
): Promise<T> {
  const { servers = [], failOver, onFailOver, ...queueOptions } = options;
  let left = leastBusy(servers.map(serverKey), pool.work);
  let server = left.shift() ?? '';
  for (;;) {
    const last = left.length === 0;
    const at = server;
    try {
      return await pool.queueOf(at).run(() => task({ server: at, last }), queueOptions);
    } catch (error) {
      const next = leastBusy(left, pool.work)[0];
      if (next === undefined || queueOptions.signal?.aborted || !failOver?.(error)) throw error;
      onFailOver?.(error, at, next);
      left = left.filter((other) => other !== next);
      server = next;
    }
  }
}
