import type { BotHarness } from './botHarness.ts';
import type { EmulatedMessage } from './discordEmulator.ts';

/** The persona posts in a thread (the messages sent through the bot's webhook), in order. */
export const personaPosts = (h: BotHarness, threadId: string): EmulatedMessage[] =>
  h.discord.messages(threadId).filter((m) => m.webhook_id);

/** The name each message was posted under. */
export const speakers = (messages: EmulatedMessage[]): string[] => messages.map((m) => m.author.username);

/**
 * Mentions the bot with `task` in the default channel, as the harness's member; resolves with the
 * thread it opens once `posts` persona posts are in it.
 */
export async function mentionAndWait(h: BotHarness, task: string, posts = 4) {
  const message = h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true });
  const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await h.discord.waitFor(() => personaPosts(h, thread.id).length >= posts || undefined, 10_000);
  return thread;
}

/**
 * Resolves once the dialogue in `threadId` is recorded in memory; with `embedded`, once its vector
 * is indexed too (no embedding pending), so that a search or a recall can find it.
 */
export async function untilRecorded(h: BotHarness, threadId: string, { embedded = false } = {}) {
  await h.discord.waitFor(
    async () => (await h.runtime.memory.records(threadId)).length === 1 || undefined,
    10_000,
  );
  if (!embedded) return;
  await h.discord.waitFor(
    async () => ((await h.runtime.memory.stats()).pending === 0 ? true : undefined),
    10_000,
  );
}

/** Reads the task a prompt was built for (the first line after "The Architect's request:"). */
export const taskOf = (content: string): string => /The Architect's request:\n(.*)/.exec(content)?.[1] ?? '';

/** A new member, 'ada', with the architect role (it counts: the harness sets DISCORD_GUILD_ID). */
export const architect = (h: BotHarness): string =>
  h.discord.createUser('ada', { roles: [h.discord.createRole('architect')] });
