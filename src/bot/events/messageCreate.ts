import {
  ChannelType,
  DiscordAPIError,
  type Message,
  RESTJSONErrorCodes,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import { readTextAttachments } from '../attachments.ts';
import type { BotContext } from '../botContext.ts';
import { NO_MENTIONS } from '../personaPoster.ts';

export const USAGE_HINT =
  'Mention me with a task — for example `@BAT OS how should I plan a team offsite?` — and ALFRED, BRICK ' +
  'and ROBIN will work it out in a thread. You can also use `/ask`. Text files attached to the message ' +
  'are read as part of the task.';

export const DM_HINT =
  'I work in servers: mention me with a task in a channel (or use `/ask` there) and the personas will ' +
  'discuss it in a thread.';

/** A thread name from the task: its first line, at most 100 characters. */
export function threadNameFor(task: string, fallback: string): string {
  const line =
    task
      .split('\n')
      .find((l) => l.trim())
      ?.replace(/\s+/g, ' ')
      .trim() ?? '';
  const name = line || fallback;
  if (name.length <= 100) return name;
  const cut = name.slice(0, 99);
  const space = cut.lastIndexOf(' ');
  return `${(space > 60 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function withoutMention(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), '').trim();
}

function threadFailure(error: unknown): string {
  const code = error instanceof DiscordAPIError ? error.code : undefined;
  switch (code) {
    case RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage:
      return 'A thread already exists for this message: continue there.';
    case RESTJSONErrorCodes.MaximumActiveThreads:
      return 'This channel has too many active threads. Archive some and mention me again.';
    case RESTJSONErrorCodes.MissingPermissions:
    case RESTJSONErrorCodes.MissingAccess:
      return 'I need the **Create Public Threads** and **Send Messages in Threads** permissions here to start a dialogue.';
    default:
      return `I could not start a thread here (${error instanceof Error ? error.message : String(error)}).`;
  }
}

/** Mentions start dialogues in threads; any human message in a bot thread continues one. */
export function createMessageHandler(ctx: BotContext) {
  const log = ctx.logger.child({ module: 'messages' });

  async function taskFrom(
    message: Message,
    thread: ThreadChannel | null,
    botId: string,
  ): Promise<string | null> {
    const text = withoutMention(message.content, botId);
    if (message.attachments.size === 0) return text;
    const read = await readTextAttachments(
      message.attachments.values(),
      ctx.runtime.config.attachmentMaxBytes,
    );
    if (read.skipped.length > 0) {
      const target = thread ?? message.channel;
      if ('send' in target)
        await target.send({ content: read.skipped.join('\n'), allowedMentions: NO_MENTIONS });
    }
    return [text, read.text].filter(Boolean).join('\n\n');
  }

  return async function onMessage(message: Message): Promise<void> {
    const me = ctx.client.user;
    if (!me || message.author.bot || message.webhookId || message.system) return;

    if (message.channel.type === ChannelType.DM) {
      await message.reply({ content: DM_HINT, allowedMentions: NO_MENTIONS });
      return;
    }

    const mentioned = message.mentions.users.has(me.id);
    const channel = message.channel;

    if (channel.isThread()) {
      const ours = await ctx.isBotThread(channel.id, channel.ownerId);
      if (!ours && !mentioned) return;
      const task = await taskFrom(message, channel, me.id);
      if (!task) {
        await message.reply({ content: USAGE_HINT, allowedMentions: NO_MENTIONS });
        return;
      }
      if (!ours)
        await ctx.registerThread(channel.id, {
          channelId: channel.parentId ?? channel.id,
          userId: message.author.id,
        });
      log.info(
        { threadId: channel.id, userId: message.author.id, guildId: message.guildId },
        'dialogue continues',
      );
      await ctx.runner.run(channel, task, { userId: message.author.id });
      return;
    }

    if (!mentioned) return;
    if (channel.type !== ChannelType.GuildText && channel.type !== ChannelType.GuildAnnouncement) return;

    const text = withoutMention(message.content, me.id);
    if (!text && message.attachments.size === 0) {
      await message.reply({ content: USAGE_HINT, allowedMentions: NO_MENTIONS });
      return;
    }
    let thread: ThreadChannel;
    try {
      thread = await message.startThread({
        name: threadNameFor(text, `Task from ${message.author.username}`),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
      });
    } catch (error) {
      log.warn({ channelId: channel.id, err: error }, 'could not start a thread');
      await message
        .reply({ content: `⚠️ ${threadFailure(error)}`, allowedMentions: NO_MENTIONS })
        .catch(() => undefined);
      return;
    }
    await ctx.registerThread(thread.id, { channelId: channel.id, userId: message.author.id });
    const task = await taskFrom(message, thread, me.id);
    if (!task) {
      await thread.send({ content: USAGE_HINT, allowedMentions: NO_MENTIONS });
      return;
    }
    log.info(
      { threadId: thread.id, userId: message.author.id, guildId: message.guildId },
      'dialogue started',
    );
    await ctx.runner.run(thread, task, { userId: message.author.id });
  };
}
