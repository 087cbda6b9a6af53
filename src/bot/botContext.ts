import type { Client } from 'discord.js';
import type { Runtime } from '../runtime.ts';
import type { AppStore } from '../services/appStore.ts';
import type { Logger } from '../services/logger.ts';
import type { DialogueRunner } from './dialogueRunner.ts';
import type { ArchitectPolicy } from './permissions.ts';

/** What event handlers and commands receive: the wired services, never globals. */
export interface BotContext {
  readonly client: Client;
  readonly runtime: Runtime;
  readonly runner: DialogueRunner;
  readonly store: AppStore;
  readonly logger: Logger;
  /** Milliseconds since the epoch when the bot started. */
  readonly startedAt: number;
  /** Remembers a thread as one of the bot's conversations. */
  registerThread(threadId: string, info: { channelId: string; userId: string }): Promise<void>;
  /** Whether a thread is one of the bot's conversations. */
  isBotThread(threadId: string, ownerId: string | null): Promise<boolean>;
  /** The architect role and the home server it counts in. */
  architects(): ArchitectPolicy;
  /** When a person last wrote to the bot or used a command (ms since the epoch). */
  lastHumanActivity(): number;
}
