import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMITS,
  DiscordEmulator,
  type DiscordEmulatorOptions,
} from '../support/discordEmulator.ts';
import {
  type EmulatorClientHarness,
  rawApi,
  startEmulatorClient,
} from '../support/discordEmulatorHarness.ts';

let harness: EmulatorClientHarness | undefined;
let bare: DiscordEmulator | undefined;

afterEach(async () => {
  await harness?.close();
  await bare?.close();
  harness = undefined;
  bare = undefined;
});

/** An emulator without a client, on a clock the test advances by hand. */
async function startOnManualClock(options: DiscordEmulatorOptions = {}) {
  const clock = { now: 1_000_000 };
  bare = await DiscordEmulator.start({ ...options, now: () => clock.now });
  return { emulator: bare, clock };
}

function execute(emulator: DiscordEmulator, webhook: { id: string; token: string }, query = '') {
  return rawApi(emulator, 'POST', `/webhooks/${webhook.id}/${webhook.token}?wait=true${query}`, {
    body: { content: 'hi' },
    auth: false,
  });
}

describe('DiscordEmulator rate limits', () => {
  it('defaults to Discord-like limits: 5 per 2 s per webhook, 30 per minute per channel, 50 per second globally', async () => {
    const { emulator } = await startOnManualClock();
    expect(emulator.rateLimitSettings).toEqual(DEFAULT_RATE_LIMITS);
    expect(DEFAULT_RATE_LIMITS).toMatchObject({
      webhook: { limit: 5, windowMs: 2000 },
      channelWebhookMessages: { limit: 30, windowMs: 60_000 },
      global: { limit: 50, windowMs: 1000 },
    });
  });

  it('counts webhook executes, edits and deletes in one bucket per webhook, with headers counting down', async () => {
    const { emulator, clock } = await startOnManualClock({
      rateLimits: { webhook: { limit: 3, windowMs: 2000 } },
    });
    const webhook = emulator.createUserWebhook(emulator.channelId, 'personas');
    const other = emulator.createUserWebhook(emulator.channelId, 'other');
    const base = `/webhooks/${webhook.id}/${webhook.token}`;

    const first = await execute(emulator, webhook);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('2');
    expect(first.headers.get('x-ratelimit-reset-after')).toBe('2.000');
    clock.now += 500;
    const edit = await rawApi(emulator, 'PATCH', `${base}/messages/${first.body.id}`, {
      body: { content: 'edited' },
      auth: false,
    });
    expect([edit.status, edit.headers.get('x-ratelimit-remaining')]).toEqual([200, '1']);
    expect(edit.headers.get('x-ratelimit-reset-after')).toBe('1.500');
    const deleted = await rawApi(emulator, 'DELETE', `${base}/messages/${first.body.id}`, { auth: false });
    expect([deleted.status, deleted.headers.get('x-ratelimit-remaining')]).toEqual([204, '0']);

    const limited = await execute(emulator, webhook);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toEqual({ message: 'You are being rate limited.', retry_after: 1.5, global: false });
    expect((await execute(emulator, other)).status).toBe(200);

    clock.now += 1500;
    expect((await execute(emulator, webhook)).status).toBe(200);
    expect(emulator.rateLimited).toEqual([
      {
        method: 'POST',
        path: `/api/v10${base}`,
        route: 'POST /webhooks/:webhook/:token',
        bucket: `webhook:${webhook.id}`,
        scope: 'user',
        retryAfter: 1.5,
        at: 1_000_500,
      },
    ]);
  });

  it('limits webhook messages per channel across webhooks, threads counting toward their parent, as a shared 429', async () => {
    const { emulator, clock } = await startOnManualClock({
      rateLimits: { channelWebhookMessages: { limit: 3, windowMs: 60_000 } },
    });
    const alfred = emulator.createUserWebhook(emulator.channelId, 'alfred');
    const brick = emulator.createUserWebhook(emulator.channelId, 'brick');
    const elsewhere = emulator.createUserWebhook(emulator.createChannel('elsewhere'), 'robin');
    const thread = await rawApi(emulator, 'POST', `/channels/${emulator.channelId}/threads`, {
      body: { name: 'debate', type: 11 },
    });

    expect((await execute(emulator, alfred)).status).toBe(200);
    clock.now += 10_000;
    expect((await execute(emulator, alfred, `&thread_id=${thread.body.id}`)).status).toBe(200);
    clock.now += 10_000;
    const third = await execute(emulator, brick);
    expect(third.status).toBe(200);
    // Success responses show only the webhook's own bucket: the channel limit is invisible.
    expect(third.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(third.headers.get('x-ratelimit-scope')).toBeNull();

    clock.now += 5_000;
    const limited = await execute(emulator, brick, `&thread_id=${thread.body.id}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-scope')).toBe('shared');
    expect(limited.headers.get('x-ratelimit-global')).toBeNull();
    expect(limited.headers.get('retry-after')).toBe('35');
    // The route headers still describe the webhook bucket, which is not exhausted: discord.js
    // then treats the 429 as a sublimit and waits Retry-After.
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(limited.body).toEqual({
      message: 'The resource is being rate limited.',
      retry_after: 35,
      global: false,
    });
    expect((await execute(emulator, elsewhere)).status).toBe(200);
    expect(emulator.messages(thread.body.id)).toHaveLength(1);

    clock.now += 35_000;
    expect((await execute(emulator, brick)).status).toBe(200);
    expect(emulator.rateLimited).toMatchObject([
      { bucket: `channel-webhook-messages:${emulator.channelId}`, scope: 'shared', retryAfter: 35 },
    ]);
  });

  it('does not count rejected webhook messages toward the channel limit', async () => {
    const { emulator } = await startOnManualClock({
      rateLimits: { channelWebhookMessages: { limit: 1, windowMs: 60_000 }, webhook: false },
    });
    const webhook = emulator.createUserWebhook(emulator.channelId, 'alfred');
    const base = `/webhooks/${webhook.id}/${webhook.token}?wait=true`;
    expect((await rawApi(emulator, 'POST', base, { body: { content: '' }, auth: false })).status).toBe(400);
    expect((await execute(emulator, webhook)).status).toBe(200);
    expect((await execute(emulator, webhook)).status).toBe(429);
  });

  it('limits the bot token globally, exempting interaction endpoints and webhook-token requests', async () => {
    const { emulator, clock } = await startOnManualClock({
      rateLimits: { global: { limit: 3, windowMs: 1000 } },
    });
    const webhook = emulator.createUserWebhook(emulator.channelId, 'alfred');
    for (let i = 0; i < 3; i += 1) expect((await rawApi(emulator, 'GET', '/users/@me')).status).toBe(200);
    expect((await execute(emulator, webhook)).status).toBe(200);

    clock.now += 400;
    const limited = await rawApi(emulator, 'GET', `/channels/${emulator.channelId}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-global')).toBe('true');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('global');
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toEqual({ message: 'You are being rate limited.', retry_after: 0.6, global: true });
    expect(emulator.rateLimited).toMatchObject([{ bucket: 'global', scope: 'global', retryAfter: 0.6 }]);

    clock.now += 600;
    expect((await rawApi(emulator, 'GET', '/users/@me')).status).toBe(200);
  });

  it('turns each limit off with false', async () => {
    const { emulator } = await startOnManualClock({
      rateLimits: { webhook: false, channelWebhookMessages: false, global: false },
    });
    const webhook = emulator.createUserWebhook(emulator.channelId, 'alfred');
    const statuses = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await execute(emulator, webhook)).status);
    for (let i = 0; i < 60; i += 1) statuses.push((await rawApi(emulator, 'GET', '/users/@me')).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect((await execute(emulator, webhook)).headers.get('x-ratelimit-limit')).toBeNull();
    expect(emulator.rateLimited).toEqual([]);

    emulator.setRateLimits({ webhook: { limit: 1, windowMs: 1000 } });
    expect((await execute(emulator, webhook)).status).toBe(200);
    expect((await execute(emulator, webhook)).status).toBe(429);
  });

  it('lets discord.js pace one webhook by its headers without a single 429', async () => {
    harness = await startEmulatorClient({ rateLimits: { webhook: { limit: 2, windowMs: 300 } } });
    const { emulator, channel } = harness;
    const webhook = await channel.createWebhook({ name: 'personas' });
    for (const content of ['one', 'two', 'three', 'four']) await webhook.send({ content });
    const sent = await webhook.send({ content: 'five' });
    // An edit is a route discord.js has not seen yet: it learns that it shares the webhook's
    // bucket only from this response, so it goes out where the window still has room.
    await webhook.editMessage(sent, { content: 'five, edited' });

    expect(emulator.rateLimited).toEqual([]);
    const calls = emulator.requests.filter((r) => r.path.startsWith(`/api/v10/webhooks/${webhook.id}/`));
    expect(calls.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // Windows of 300 ms hold 2 calls each: the 3rd and 5th calls wait for a new window.
    for (const index of [2, 4]) {
      expect(calls[index]!.arrivedAt - calls[index - 2]!.arrivedAt).toBeGreaterThanOrEqual(300);
    }
  });

  it('makes discord.js wait out the shared channel limit by Retry-After, then deliver', async () => {
    harness = await startEmulatorClient({
      rateLimits: { channelWebhookMessages: { limit: 2, windowMs: 400 } },
    });
    const { emulator, channel } = harness;
    const alfred = await channel.createWebhook({ name: 'alfred' });
    const brick = await channel.createWebhook({ name: 'brick' });
    await alfred.send('one');
    await brick.send('two');
    await brick.send('three');

    expect(emulator.messages(emulator.channelId).map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(emulator.rateLimited).toMatchObject([
      { scope: 'shared', bucket: `channel-webhook-messages:${channel.id}` },
    ]);
    const executes = emulator.requests.filter((r) => r.route === 'POST /webhooks/:webhook/:token');
    expect(executes.map((r) => r.status)).toEqual([200, 200, 429, 200]);
    // Retry-After is whole seconds (rounded up, as Discord sends it): discord.js waits a full second.
    expect(executes[3]!.arrivedAt - executes[2]!.arrivedAt).toBeGreaterThanOrEqual(990);
  });
});
