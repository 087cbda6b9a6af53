import type { Client, Message, TextChannel, ThreadChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DiscordEmulator } from '../support/discordEmulator.ts';
import { loginClient, rawApi } from '../support/discordEmulatorHarness.ts';

let emulator: DiscordEmulator | undefined;
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.destroy();
  await emulator?.close();
  emulator = undefined;
});

async function login(on: DiscordEmulator) {
  const logged = await loginClient(on);
  clients.push(logged.client);
  return logged;
}

/** Ids of MESSAGE_CREATE events that reached no gateway session. */
function undelivered(on: DiscordEmulator): string[] {
  return on.events
    .filter((event) => event.t === 'MESSAGE_CREATE' && event.sessions.length === 0)
    .map((event) => (event.d as { id: string }).id);
}

describe('DiscordEmulator catch-up after downtime', () => {
  it('stores what users post while the bot is offline and gives it back only through REST', async () => {
    emulator = await DiscordEmulator.start();
    const alice = emulator.createUser('alice');
    const first = await login(emulator);
    const general = first.client.channels.cache.get(emulator.channelId) as TextChannel;
    const ask = emulator.userSays(alice, emulator.channelId, 'start a debate', { mentionBot: true });
    const asked = await emulator.waitFor(() => first.messages.find((m) => m.id === ask.id));
    const thread = await asked.startThread({ name: 'Debate' });
    const webhook = await general.createWebhook({ name: 'personas' });
    const lastSeen = await webhook.send({ content: 'ALFRED opens', threadId: thread.id });
    const old = await general.threads.create({ name: 'Old news' });
    await old.setArchived(true);
    // The last message the bot saw in the channel (the notice of the thread it just created).
    const lastSeenInChannel = emulator.messages(emulator.channelId).at(-1)!.id;

    await first.client.destroy();
    await emulator.waitFor(() => emulator?.sessionCount === 0);
    expect(emulator.connected).toBe(false);

    const mention = emulator.userSays(alice, emulator.channelId, 'are you there?', { mentionBot: true });
    const replies = Array.from({ length: 60 }, (_, i) =>
      emulator!.userSays(alice, thread.id, `reply ${i + 1}`),
    );
    expect(undelivered(emulator)).toEqual([mention.id, ...replies.map((m) => m.id)]);

    const second = await login(emulator);
    // Nothing posted while offline is replayed: the first message the new session gets is one
    // posted after it logged in.
    const sentinel = emulator.userSays(alice, emulator.channelId, 'back online?');
    await emulator.waitFor(() => second.messages.length > 0);
    expect(second.messages.map((m) => m.id)).toEqual([sentinel.id]);

    const channel = second.client.channels.cache.get(emulator.channelId) as TextChannel;
    const missedInChannel = await channel.messages.fetch({ after: lastSeenInChannel });
    expect([...missedInChannel.keys()]).toEqual([sentinel.id, mention.id]);

    const active = await channel.guild.channels.fetchActiveThreads();
    const activeThread = active.threads.get(thread.id) as ThreadChannel;
    expect(activeThread.lastMessageId).toBe(replies.at(-1)?.id);
    expect(active.threads.has(old.id)).toBe(false);
    const archived = await channel.threads.fetchArchived();
    expect([...archived.threads.keys()]).toEqual([old.id]);

    // Page through the thread from the last message the bot saw, as a catch-up would.
    const missed: Message[] = [];
    let after = lastSeen.id;
    for (;;) {
      const page = await activeThread.messages.fetch({ after, limit: 25 });
      if (page.size === 0) break;
      const ids = [...page.keys()];
      expect(ids).toEqual([...ids].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1)));
      missed.push(...[...page.values()].reverse());
      after = ids[0]!;
    }
    expect(missed.map((m) => m.content)).toEqual(replies.map((m) => m.content));
    expect(emulator.unknownRoutes()).toEqual([]);
  });

  it('keeps a dropped session resumable: events queue for RESUME instead of being lost', async () => {
    emulator = await DiscordEmulator.start();
    const alice = emulator.createUser('alice');
    const { messages } = await login(emulator);
    emulator.dropGateway();
    await emulator.waitFor(() => !emulator?.connected);
    expect(emulator.sessionCount).toBe(1);
    const said = emulator.userSays(alice, emulator.channelId, 'while you were away');
    expect(undelivered(emulator)).toEqual([]);
    await emulator.waitFor(() => messages.find((m) => m.id === said.id));
  });

  it('lists history newest first with after, before, around and limit', async () => {
    emulator = await DiscordEmulator.start();
    const alice = emulator.createUser('alice');
    const ids = Array.from(
      { length: 7 },
      (_, i) => emulator!.userSays(alice, emulator!.channelId, `m${i}`).id,
    );
    const list = async (query: string) => {
      const response = await rawApi(emulator!, 'GET', `/channels/${emulator!.channelId}/messages${query}`);
      expect(response.status).toBe(200);
      return (response.body as Array<{ content: string }>).map((m) => m.content);
    };
    expect(await list('')).toEqual(['m6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
    expect(await list('?limit=2')).toEqual(['m6', 'm5']);
    expect(await list(`?after=${ids[1]}&limit=3`)).toEqual(['m4', 'm3', 'm2']);
    expect(await list(`?before=${ids[5]}&limit=2`)).toEqual(['m4', 'm3']);
    expect(await list(`?around=${ids[3]}&limit=3`)).toEqual(['m4', 'm3', 'm2']);
    // Past the newest message there is nothing after it: only the half before remains.
    expect(await list(`?around=${ids[6]}9&limit=3`)).toEqual(['m6']);
    expect(await list(`?after=${ids[6]}`)).toEqual([]);

    const many = Array.from({ length: 60 }, (_, i) =>
      emulator!.userSays(alice, emulator!.channelId, `n${i}`),
    );
    expect(await list('')).toHaveLength(50);
    expect((await list('?limit=100')).at(-1)).toBe('m0');
    expect((await list('?limit=1'))[0]).toBe(many.at(-1)?.content);

    for (const [query, code] of [
      ['?limit=0', 'NUMBER_TYPE_MIN'],
      ['?limit=101', 'NUMBER_TYPE_MAX'],
      ['?limit=ten', 'NUMBER_TYPE_COERCE'],
    ] as const) {
      const response = await rawApi(emulator, 'GET', `/channels/${emulator.channelId}/messages${query}`);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ code: 50035, errors: { limit: { _errors: [{ code }] } } });
    }
    const badId = await rawApi(emulator, 'GET', `/channels/${emulator.channelId}/messages?before=latest`);
    expect(badId.body).toMatchObject({
      code: 50035,
      errors: { before: { _errors: [{ code: 'NUMBER_TYPE_COERCE' }] } },
    });
  });

  it('lists archived public threads most recently archived first, with before, limit and has_more', async () => {
    emulator = await DiscordEmulator.start();
    const threadIds: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const created = await rawApi(emulator, 'POST', `/channels/${emulator.channelId}/threads`, {
        body: { name, type: 11 },
      });
      threadIds.push(created.body.id);
    }
    emulator.archiveThread(threadIds[0]!, { at: new Date('2025-01-01T10:00:00Z') });
    emulator.archiveThread(threadIds[2]!, { at: new Date('2025-01-01T11:00:00Z') });
    const base = `/channels/${emulator.channelId}/threads/archived/public`;
    const all = await rawApi(emulator, 'GET', base);
    expect(all.body.threads.map((t: { name: string }) => t.name)).toEqual(['c', 'a']);
    expect(all.body.has_more).toBe(false);
    expect(all.body.members).toHaveLength(2);
    const first = await rawApi(emulator, 'GET', `${base}?limit=1`);
    expect([first.body.threads.map((t: { name: string }) => t.name), first.body.has_more]).toEqual([
      ['c'],
      true,
    ]);
    const stamp = first.body.threads[0].thread_metadata.archive_timestamp;
    const next = await rawApi(emulator, 'GET', `${base}?before=${encodeURIComponent(stamp)}`);
    expect(next.body.threads.map((t: { name: string }) => t.name)).toEqual(['a']);
    const active = await rawApi(emulator, 'GET', `/guilds/${emulator.guildId}/threads/active`);
    expect(active.body.threads.map((t: { name: string }) => t.name)).toEqual(['b']);
  });
});
