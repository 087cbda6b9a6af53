import { ChannelType, type Client, Events, type Message, type ThreadChannel } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import type { HumanActivity } from '../activity.ts';
import { readTextAttachments } from '../dialogue/attachments.ts';
import type { Continuity } from '../dialogue/continuity.ts';
import { threadNameFor, USAGE_HINT } from '../dialogue/startDialogue.ts';
import type { BotPorts } from '../ports.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';

export const DM_HINT =
  'I work in servers: mention me with a task in a channel (or use `/ask` there) and the personas will ' +
  'discuss it in a thread.';

function withoutMention(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), '').trim();
}

/**
 * Mentions start dialogues in threads; any human message in a bot thread continues one. Resolves
 * when the message's dialogue has been handed to the runner, not when it ends.
 */
export function createMessageHandler(
  ports: Pick<BotPorts, 'client' | 'config' | 'logger' | 'threads' | 'dialogues' | 'memory'>,
) {
  /** The task: the message without the mention, and its text attachments (skipped ones said where asked). */
  async function taskFrom(message: Message, where: ThreadChannel | null, botId: string): Promise<string> {
    const text = withoutMention(message.content, botId);
    if (message.attachments.size === 0) return text;
    const read = await readTextAttachments(message.attachments.values(), ports.config.attachmentMaxBytes);
    if (read.skipped.length > 0) {
      const target = where ?? message.channel;
      if ('send' in target)
        await target.send({ content: read.skipped.join('\n'), allowedMentions: NO_MENTIONS });
    }
    return [text, read.text].filter(Boolean).join('\n\n');
  }

  return async function onMessage(message: Message): Promise<void> {
    const me = ports.client.user;
    if (!me || message.author.bot || message.webhookId || message.system) return;

    if (message.channel.type === ChannelType.DM) {
      await message.reply({ content: DM_HINT, allowedMentions: NO_MENTIONS });
      return;
    }

    const mentioned = message.mentions.users.has(me.id);
    const channel = message.channel;

    if (channel.isThread()) {
      // The governance area is for the architects: no dialogue starts there, mention or not.
      if (channel.parentId && channel.parentId === ports.config.governanceChannelId) return;
      if (!mentioned && !(await ports.threads.isOurs(channel.id))) return;
      const task = await taskFrom(message, channel, me.id);
      if (!task) {
        await message.reply({ content: USAGE_HINT, allowedMentions: NO_MENTIONS });
        return;
      }
      ports.memory.prefetch(task);
      const continued = await ports.dialogues.continueIn(channel, task, message.author.id);
      if (!continued.ok)
        await message.reply({ content: `⏳ ${continued.reason}`, allowedMentions: NO_MENTIONS });
      return;
    }

    if (!mentioned) return;
    if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) return;

    const text = withoutMention(message.content, me.id);
    if (!text && message.attachments.size === 0) {
      await message.reply({ content: USAGE_HINT, allowedMentions: NO_MENTIONS });
      return;
    }
    // Recall's embedding runs while the thread is opened (attachments are read later, and change the task).
    if (message.attachments.size === 0) ports.memory.prefetch(text);
    const started = await ports.dialogues.start({
      origin: { message },
      name: threadNameFor(text, `Task from ${message.author.username}`),
      userId: message.author.id,
      task: (thread) => taskFrom(message, thread, me.id),
    });
    // Resolves once the dialogue is handed over (it runs on, in order per thread), so messages
    // read back after a restart are handed over one by one, oldest first.
    if (!started.ok && (started.code === 'THREAD_FAILED' || started.code === 'RATE_LIMITED')) {
      const mark = started.code === 'RATE_LIMITED' ? '⏳' : '⚠️';
      await message
        .reply({ content: `${mark} ${started.reason}`, allowedMentions: NO_MENTIONS })
        .catch(() => undefined);
    }
  };
}

/**
 * A person's message, live or read back after a restart, handled once: the catch-up at start
 * and the gateway may both deliver it. A channel's messages are handed over in the order they
 * came, each once the one before it is with the runner: the steps before the runner's queue ask
 * the store, whose answers (SQLite through a thread pool, PostgreSQL over a pool of connections)
 * may come back in any order, and a thread's "two" must never overtake its "one".
 */
export function handledOnce(
  continuity: Pick<Continuity, 'firstSighting'>,
  onMessage: (message: Message) => Promise<void>,
): (message: Message) => Promise<void> {
  const inOrder = createKeyedLock();
  return async (message) => {
    if (message.author.bot || message.webhookId || message.system) return;
    // A mention in a channel opens a thread of its own: mentions there need no order among them,
    // and wait for each other only while the channel's last-seen message is moved on.
    if (!message.channel.isThread()) {
      if (await inOrder.run(message.channelId, () => continuity.firstSighting(message)))
        await onMessage(message);
      return;
    }
    await inOrder.run(message.channelId, async () => {
      if (await continuity.firstSighting(message)) await onMessage(message);
    });
  };
}

/** Hands every new message to `handle` while the bot runs; a person's message counts as activity. */
export function listenToMessages(
  client: Client,
  deps: {
    handle: (message: Message) => Promise<void>;
    activity: Pick<HumanActivity, 'touch'>;
    isStopping: () => boolean;
    logger: Logger;
  },
): void {
  client.on(Events.MessageCreate, (message) => {
    if (deps.isStopping()) return;
    if (!message.author.bot && !message.webhookId) deps.activity.touch();
    deps
      .handle(message)
      .catch((error: unknown) =>
        deps.logger.error({ err: error, channelId: message.channelId }, 'message handler failed'),
      );
  });
}
