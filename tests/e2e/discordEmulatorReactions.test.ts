import {
  type Client,
  Events,
  GatewayIntentBits,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type TextChannel,
  type User,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BOT_CACHES, BOT_INTENTS, BOT_PARTIALS } from '../../src/bot/client.ts';
import { DiscordEmulator, Permission } from '../support/discordEmulator.ts';
import { loginClient } from '../support/discordEmulatorHarness.ts';

let emulator: DiscordEmulator | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.destroy();
  await emulator?.close();
  client = undefined;
  emulator = undefined;
});

type Seen = {
  change: 'add' | 'remove';
  emoji: string | null;
  user: string;
  message: string;
  partial: boolean;
};

/**
 * The emulator and a discord.js client with these intents and partials and the bot's caches (no
 * message kept), recording every reaction event it emits.
 */
async function start(options: { intents: number[]; partials: number[] }) {
  emulator = await DiscordEmulator.start();
  const logged = await loginClient(emulator, { ...options, makeCache: BOT_CACHES.makeCache });
  client = logged.client;
  const seen: Seen[] = [];
  const record =
    (change: Seen['change']) =>
    (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) =>
      seen.push({
        change,
        emoji: reaction.emoji.name,
        user: user.id,
        message: reaction.message.id,
        partial: reaction.message.partial,
      });
  client.on(Events.MessageReactionAdd, record('add'));
  client.on(Events.MessageReactionRemove, record('remove'));
  return { emulator, client, seen };
}

/** A message the client's webhook posted in the default channel. */
async function webhookMessage(emulator: DiscordEmulator, client: Client) {
  const channel = client.channels.cache.get(emulator.channelId) as TextChannel;
  const webhook = await channel.createWebhook({ name: 'BAT OS' });
  const sent = await webhook.send({ content: 'Gently.', username: 'ROBIN' });
  return { webhook, message: sent };
}

const reactionEvents = (emulator: DiscordEmulator) =>
  emulator.events.filter((e) => e.t.startsWith('MESSAGE_REACTION'));

describe('reactions in the Discord emulator', () => {
  it('dispatches a member’s reaction with Discord’s payload, and discord.js delivers it on an uncached message', async () => {
    const { emulator, client, seen } = await start({ intents: BOT_INTENTS, partials: BOT_PARTIALS });
    const { webhook, message } = await webhookMessage(emulator, client);
    const bob = emulator.createUser('bob');

    emulator.react(bob, message.id, '👍');
    await emulator.waitFor(() => seen.length === 1 || undefined);
    expect(seen).toEqual([{ change: 'add', emoji: '👍', user: bob, message: message.id, partial: true }]);
    const added = reactionEvents(emulator)[0];
    expect(added?.t).toBe('MESSAGE_REACTION_ADD');
    expect(added?.d).toMatchObject({
      user_id: bob,
      channel_id: emulator.channelId,
      message_id: message.id,
      guild_id: emulator.guildId,
      emoji: { id: null, name: '👍' },
      // A webhook message's author is the webhook.
      message_author_id: webhook.id,
      burst: false,
      burst_colors: [],
      type: 0,
      member: { user: { id: bob, username: 'bob' }, roles: [emulator.memberRoleId] },
    });
    expect(emulator.message(message.id)?.reactions).toEqual([
      {
        count: 1,
        count_details: { burst: 0, normal: 1 },
        me: false,
        me_burst: false,
        emoji: { id: null, name: '👍' },
        burst_colors: [],
      },
    ]);

    // Reacting again with the same emoji changes nothing, as on Discord.
    emulator.react(bob, message.id, '👍');
    emulator.unreact(bob, message.id, '👍');
    await emulator.waitFor(() => seen.length === 2 || undefined);
    expect(seen[1]).toEqual({ change: 'remove', emoji: '👍', user: bob, message: message.id, partial: true });
    const removed = reactionEvents(emulator);
    expect(removed.map((e) => e.t)).toEqual(['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE']);
    expect(removed[1]?.d).toEqual({
      user_id: bob,
      channel_id: emulator.channelId,
      message_id: message.id,
      guild_id: emulator.guildId,
      emoji: { id: null, name: '👍' },
      burst: false,
      type: 0,
    });
    expect(emulator.message(message.id)?.reactions).toBeUndefined();
  });

  it('sends no reaction event to a session without the GuildMessageReactions intent', async () => {
    // The client's intents before reactions counted: guilds, messages, content, DMs.
    const { emulator, client, seen } = await start({
      intents: BOT_INTENTS.filter((intent) => intent !== GatewayIntentBits.GuildMessageReactions),
      partials: BOT_PARTIALS,
    });
    const { message } = await webhookMessage(emulator, client);
    emulator.react(emulator.createUser('bob'), message.id, '👎');
    const sent = reactionEvents(emulator);
    expect(sent.map((e) => [e.t, e.sessions.length])).toEqual([['MESSAGE_REACTION_ADD', 0]]);
    expect(seen).toEqual([]);
  });

  it('reads a server’s emoji as name:id, and asks Add Reactions only of the first to use an emoji', async () => {
    const { emulator, client, seen } = await start({ intents: BOT_INTENTS, partials: BOT_PARTIALS });
    const { message } = await webhookMessage(emulator, client);
    const quiet = emulator.createRole('quiet');
    emulator.setChannelOverwrite(emulator.channelId, quiet, { deny: Permission.AddReactions });
    const carol = emulator.createUser('carol', { roles: [quiet] });
    expect(() => emulator.react(carol, message.id, 'party:123456789012345678')).toThrow(/lacks AddReactions/);
    emulator.react(emulator.ownerId, message.id, 'party:123456789012345678');
    emulator.react(carol, message.id, 'party:123456789012345678');
    await emulator.waitFor(() => seen.length === 2 || undefined);
    expect(reactionEvents(emulator)[0]?.d).toMatchObject({
      emoji: { id: '123456789012345678', name: 'party' },
    });
    expect(emulator.message(message.id)?.reactions?.[0]).toMatchObject({
      count: 2,
      emoji: { id: '123456789012345678', name: 'party' },
    });
  });
});
