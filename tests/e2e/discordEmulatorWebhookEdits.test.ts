import { Events, type TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  apiError,
  type EmulatorClientHarness,
  startEmulatorClient,
} from '../support/discordEmulatorHarness.ts';

let harness: EmulatorClientHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function threadWithWebhook(h: EmulatorClientHarness) {
  const alice = h.emulator.createUser('alice');
  const said = h.emulator.userSays(alice, h.emulator.channelId, 'debate this');
  const asked = await h.emulator.waitFor(() => h.messages.find((m) => m.id === said.id));
  const thread = await asked.startThread({ name: 'Debate' });
  const webhook = await h.channel.createWebhook({ name: 'personas' });
  return { thread, webhook };
}

describe('DiscordEmulator webhook message edits in threads', () => {
  it('edits a webhook message in its thread, dispatches MESSAGE_UPDATE and keeps the edit history', async () => {
    harness = await startEmulatorClient();
    const { emulator, client } = harness;
    // discord.js updates one cached object in place: keep what each event said.
    const updates: Array<[string, string | null]> = [];
    client.on(Events.MessageUpdate, (_old, updated) => updates.push([updated.channelId, updated.content]));
    const { thread, webhook } = await threadWithWebhook(harness);
    const sent = await webhook.send({
      content: 'ALFRED: thinking…',
      username: 'ALFRED',
      threadId: thread.id,
    });

    await webhook.editMessage(sent.id, { content: 'ALFRED: a plan', threadId: thread.id });
    await webhook.editMessage(sent.id, { content: 'ALFRED: the plan', threadId: thread.id });

    expect(emulator.message(sent.id)?.content).toBe('ALFRED: the plan');
    expect(emulator.edits(sent.id).map((edit) => edit.content)).toEqual([
      'ALFRED: a plan',
      'ALFRED: the plan',
    ]);
    const [first, second] = emulator.edits(sent.id);
    expect(second!.at).toBeGreaterThanOrEqual(first!.at);
    await emulator.waitFor(() => updates.length === 2);
    expect(updates).toEqual([
      [thread.id, 'ALFRED: a plan'],
      [thread.id, 'ALFRED: the plan'],
    ]);
    expect(emulator.edits(thread.id)).toEqual([]);
  });

  it('answers 10008 when the message is not in the thread named (or no thread is named)', async () => {
    harness = await startEmulatorClient();
    const { emulator, channel } = harness;
    const { thread, webhook } = await threadWithWebhook(harness);
    const other = await channel.threads.create({ name: 'Elsewhere' });
    const sent = await webhook.send({ content: 'in the debate', threadId: thread.id });

    expect((await apiError(webhook.editMessage(sent.id, { content: 'x' }))).code).toBe(10008);
    expect((await apiError(webhook.editMessage(sent.id, { content: 'x', threadId: other.id }))).code).toBe(
      10008,
    );
    expect((await apiError(webhook.fetchMessage(sent.id))).code).toBe(10008);
    expect((await apiError(webhook.deleteMessage(sent.id))).code).toBe(10008);
    const foreign = emulator.createChannel('foreign');
    const foreignChannel = await emulator.waitFor(
      () => harness?.client.channels.cache.get(foreign) as TextChannel | undefined,
    );
    const foreignThread = await foreignChannel.threads.create({ name: 'Not yours' });
    expect(
      (await apiError(webhook.editMessage(sent.id, { content: 'x', threadId: foreignThread.id }))).code,
    ).toBe(10003);
    expect(emulator.edits(sent.id)).toEqual([]);
    expect((await webhook.fetchMessage(sent.id, { threadId: thread.id })).content).toBe('in the debate');
  });

  it('deletes a webhook message in a thread with thread_id, dispatching MESSAGE_DELETE', async () => {
    harness = await startEmulatorClient();
    const { emulator, client } = harness;
    const deleted: string[] = [];
    client.on(Events.MessageDelete, (message) => deleted.push(message.id));
    const { thread, webhook } = await threadWithWebhook(harness);
    const sent = await webhook.send({ content: 'oops', threadId: thread.id });
    await webhook.deleteMessage(sent.id, thread.id);
    expect(emulator.messages(thread.id)).toEqual([]);
    await emulator.waitFor(() => deleted.includes(sent.id));
  });

  it('counts edits in the webhook bucket: discord.js learns the shared bucket from one 429, then paces', async () => {
    harness = await startEmulatorClient({ rateLimits: { webhook: { limit: 2, windowMs: 400 } } });
    const { emulator } = harness;
    const { thread, webhook } = await threadWithWebhook(harness);
    const sent = await webhook.send({ content: 'v1', threadId: thread.id });
    for (const content of ['v2', 'v3', 'v4'])
      await webhook.editMessage(sent.id, { content, threadId: thread.id });

    expect(emulator.edits(sent.id).map((edit) => edit.content)).toEqual(['v2', 'v3', 'v4']);
    expect(emulator.rateLimited.map((r) => [r.route, r.bucket])).toEqual([
      ['PATCH /webhooks/:webhook/:token/messages/:message', `webhook:${webhook.id}`],
    ]);
    const calls = emulator.requests.filter((r) => r.path.startsWith(`/api/v10/webhooks/${webhook.id}/`));
    expect(calls.map((r) => r.status)).toEqual([200, 200, 429, 200, 200]);
    // Each accepted call after the first two waited for a fresh 400 ms window.
    expect(calls[3]!.arrivedAt - calls[0]!.arrivedAt).toBeGreaterThanOrEqual(400);
  });
});
