import type { AppStore } from '../../services/appStore.ts';
import type { Clock } from '../../services/clock.ts';

/** The bot's own conversation threads. */
export interface BotThreads {
  /** Remembers a thread as one of the bot's conversations. */
  register(threadId: string, info: { channelId: string; userId: string }): Promise<void>;
  /** Whether a thread is one of the bot's conversations (registered when it began). */
  isOurs(threadId: string): Promise<boolean>;
}

/** Conversation threads remembered in memory beside the store (the rest are looked up there). */
export const KNOWN_THREADS = 1_000;

const threadKey = (threadId: string) => `thread:${threadId}`;

/**
 * The store knows every conversation thread; the most recently used are also kept in memory, a
 * bounded few, so a busy thread's follow-ups never wait for the store.
 */
export function createBotThreads(deps: { store: Pick<AppStore, 'get' | 'set'>; clock: Clock }): BotThreads {
  const known = new Set<string>();
  const know = (threadId: string) => {
    known.delete(threadId);
    known.add(threadId);
    if (known.size > KNOWN_THREADS) known.delete(known.values().next().value as string);
  };
  return {
    async register(threadId, info) {
      know(threadId);
      await deps.store.set(threadKey(threadId), { ...info, createdAt: deps.clock.now() });
    },
    async isOurs(threadId) {
      // Registered threads only: the bot also owns threads that are not conversations (a
      // proposal's history), where a reply must not start a dialogue.
      if (known.has(threadId)) return true;
      if (!(await deps.store.get(threadKey(threadId)))) return false;
      know(threadId);
      return true;
    },
  };
}
