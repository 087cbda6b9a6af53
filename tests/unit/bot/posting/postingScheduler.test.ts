import { describe, expect, it } from 'vitest';
import {
  createPostingScheduler,
  type PostingLimits,
  type PostingPort,
  type PostRequest,
  type SendReport,
} from '../../../../src/bot/posting/postingScheduler.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { flush, ManualClock } from '../../../support/clock.ts';

interface Sent {
  threadId: string;
  part: string;
  /** When Discord received it (the fake's clock). */
  at: number;
}

/**
 * Discord as the emulator models it, on a manual clock: a fixed window per webhook with headers,
 * and a sliding window of webhook messages per channel that shows only in a 429. A message over
 * either limit is refused (the port reports it undelivered) and recorded in `refused`.
 */
class FakeDiscord implements PostingPort<string> {
  readonly sent: Sent[] = [];
  readonly refused: Array<{ scope: string; at: number; retryAfterMs: number }> = [];
  /** Messages other webhooks posted into the channel (they count toward its limit). */
  readonly foreign: number[] = [];
  private window = { count: 0, resetAt: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly clock: ManualClock,
    private readonly limits: {
      webhook: { limit: number; windowMs: number };
      channel: { limit: number; windowMs: number };
      latencyMs?: number;
      failing?: Set<string>;
    },
  ) {}

  async send(target: { threadId: string }, part: string): Promise<SendReport> {
    const at = this.clock.now();
    const report = this.answer(target.threadId, part, at);
    if (this.limits.latencyMs) await this.clock.sleep(this.limits.latencyMs);
    if (this.limits.failing?.has(part)) throw new Error(`refused ${part}`);
    return report;
  }

  private answer(threadId: string, part: string, at: number): SendReport {
    const { webhook, channel } = this.limits;
    if (at >= this.window.resetAt) this.window = { count: 0, resetAt: at + webhook.windowMs };
    const headers = () => ({
      limit: webhook.limit,
      remaining: webhook.limit - this.window.count,
      resetAfterMs: this.window.resetAt - at,
    });
    if (this.window.count >= webhook.limit) return this.refuse('user', this.window.resetAt - at, headers());
    const recent = [...this.foreign, ...this.sent.map((s) => s.at)]
      .filter((time) => time > at - channel.windowMs)
      .sort((a, b) => a - b);
    this.window.count += 1;
    if (recent.length >= channel.limit) {
      return this.refuse(
        'shared',
        (recent[recent.length - channel.limit] ?? at) + channel.windowMs - at,
        headers(),
      );
    }
    if (!this.limits.failing?.has(part)) this.sent.push({ threadId, part, at });
    return { delivered: true, bucket: headers(), rateLimited: [] };
  }

  private refuse(scope: string, retryAfterMs: number, bucket: SendReport['bucket']): SendReport {
    this.refused.push({ scope, at: this.clock.now(), retryAfterMs });
    return { delivered: false, ...(bucket ? { bucket } : {}), rateLimited: [{ scope, retryAfterMs }] };
  }
}

const DISCORD = { webhook: { limit: 5, windowMs: 2000 }, channel: { limit: 30, windowMs: 60_000 } };

function schedulerOn(discord: FakeDiscord, clock: ManualClock, limits: Partial<PostingLimits> = {}) {
  return createPostingScheduler({ port: discord, clock, logger: createSilentLogger(), limits });
}

const post = (threadId: string, parts: string[], extra: Partial<PostRequest<string>> = {}) => ({
  channelId: 'channel-1',
  threadId,
  parts,
  ...extra,
});

/**
 * Lets the scheduler work, then moves the clock: the first send is under way before time moves
 * (the manual clock jumps straight to the target when no timer is waiting yet).
 */
async function pass(clock: ManualClock, ms: number) {
  await flush();
  await clock.advance(ms);
}

/** Every message of a thread, in the order Discord received them. */
const partsOf = (discord: FakeDiscord, threadId: string) =>
  discord.sent.filter((s) => s.threadId === threadId).map((s) => s.part);

describe('the posting scheduler, on a fake Discord and a manual clock', () => {
  it('lets threads take turns message by message, each thread in its own order', async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, DISCORD);
    const scheduler = schedulerOn(discord, clock);

    const done = Promise.all([
      scheduler.post(post('A', ['a1'])),
      scheduler.post(post('A', ['a2'])),
      scheduler.post(post('A', ['a3'])),
      scheduler.post(post('B', ['b1 part 1', 'b1 part 2'])),
      scheduler.post(post('C', ['c1'])),
    ]);
    await pass(clock, 10_000);
    await done;

    expect(discord.sent.map((s) => s.part)).toEqual(['a1', 'b1 part 1', 'c1', 'a2', 'b1 part 2', 'a3']);
    expect(discord.refused).toEqual([]);
  });

  it("puts a run's opening post before the threads already taking turns", async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, DISCORD);
    const scheduler = schedulerOn(discord, clock);

    const done = Promise.all([
      scheduler.post(post('A', ['a1'])),
      scheduler.post(post('A', ['a2'])),
      scheduler.post(post('B', ['b1'])),
      scheduler.post(post('B', ['b2'])),
      scheduler.post(post('C', ['c1'], { opening: true })),
      scheduler.post(post('D', ['d1'], { opening: true })),
    ]);
    await pass(clock, 10_000);
    await done;

    // A went out at once; C and D opened their runs while A and B were waiting their turns.
    expect(discord.sent.map((s) => s.part)).toEqual(['a1', 'c1', 'd1', 'b1', 'a2', 'b2']);
  });

  it("keeps within both of Discord's limits and goes as soon as they allow", async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, DISCORD);
    const scheduler = schedulerOn(discord, clock);
    const start = clock.now();

    const threads = Array.from({ length: 8 }, (_, i) => `T${i}`);
    const done = Promise.all(
      threads.flatMap((id) => Array.from({ length: 5 }, (_, n) => scheduler.post(post(id, [`${id}.${n}`])))),
    );
    await pass(clock, 130_000);
    await done;

    expect(discord.refused).toEqual([]);
    const times = discord.sent.map((s) => s.at - start);
    expect(times).toHaveLength(40);
    for (let i = 0; i + 5 < times.length; i += 1)
      expect(times[i + 5]! - times[i]!).toBeGreaterThanOrEqual(2000);
    for (let i = 0; i + 30 < times.length; i += 1) {
      expect(times[i + 30]! - times[i]!).toBeGreaterThanOrEqual(60_000);
    }
    // Five at once, then a window every 2 s (plus the 50 ms margin) until 30 are out; the 31st
    // goes when the first leaves the channel's minute.
    expect(times.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 2050]);
    expect(times[29]).toBe(5 * 2050);
    expect(times[30]).toBe(60_050);
    // Each thread's first message before any thread's second.
    const firsts = threads.map((id) => discord.sent.findIndex((s) => s.threadId === id));
    const seconds = threads.map((id) => discord.sent.findIndex((s) => s.part === `${id}.1`));
    expect(Math.max(...firsts)).toBeLessThan(Math.min(...seconds));
    for (const id of threads) expect(partsOf(discord, id)).toEqual([0, 1, 2, 3, 4].map((n) => `${id}.${n}`));
  });

  it("follows the webhook's headers when Discord's bucket differs from the default", async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, { ...DISCORD, webhook: { limit: 2, windowMs: 1000 } });
    const scheduler = schedulerOn(discord, clock, { marginMs: 0 });

    const done = Promise.all(['x1', 'x2', 'x3', 'x4', 'x5'].map((part) => scheduler.post(post('X', [part]))));
    await pass(clock, 10_000);
    await done;

    expect(discord.refused).toEqual([]);
    // Discord said 2 per second: the default of 5 per 2 s would have drawn a 429 on the third.
    expect(discord.sent.map((s) => s.at - discord.sent[0]!.at)).toEqual([0, 0, 1000, 1000, 2000]);
  });

  it('backs off by Retry-After on a 429 it could not foresee, and sends the refused message again in order', async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, DISCORD);
    const scheduler = schedulerOn(discord, clock);
    // Another webhook filled the channel's minute 10 s ago: only a 429 can tell.
    for (let i = 0; i < 30; i += 1) discord.foreign.push(clock.now() - 10_000);

    const done = Promise.all([scheduler.post(post('A', ['a1', 'a2'])), scheduler.post(post('B', ['b1']))]);
    await pass(clock, 60_000);
    await done;

    expect(discord.refused).toEqual([{ scope: 'shared', at: clock.now() - 60_000, retryAfterMs: 50_000 }]);
    expect(discord.sent.map((s) => s.part)).toEqual(['a1', 'b1', 'a2']);
    expect(discord.sent[0]!.at - discord.refused[0]!.at).toBeGreaterThanOrEqual(50_000);
  });

  it('tells a thread once when its next post must wait longer than the notice threshold, never mid-turn', async () => {
    const clock = new ManualClock();
    const channel = { limit: 4, windowMs: 60_000 };
    const discord = new FakeDiscord(clock, { ...DISCORD, channel });
    const scheduler = schedulerOn(discord, clock, { channel });
    const told: Array<{ threadId: string; waitMs: number }> = [];
    const onDelayed = (threadId: string) => (waitMs: number) => told.push({ threadId, waitMs });

    const turns = ['A', 'B', 'C', 'D', 'E', 'F'].map((id) =>
      scheduler.post(post(id, [`${id} part 1`, `${id} part 2`], { onDelayed: onDelayed(id) })),
    );
    await pass(clock, 0);
    // A to D start at once; E and F hear as they queue that the channel's minute holds them back.
    // A to D wait as long for their second parts, but a notice there would split their turns.
    expect(told).toEqual([
      { threadId: 'E', waitMs: 60_050 },
      { threadId: 'F', waitMs: 60_050 },
    ]);
    // A's and B's next posts are told once they are next in their threads (at 60 s, when the
    // second parts went): C to F go first at 120 s, then the channel is full again until 180 s.
    const later = ['A', 'B'].map((id) =>
      scheduler.post(post(id, [`${id} next`], { onDelayed: onDelayed(id) })),
    );
    await pass(clock, 300_000);
    await Promise.all([...turns, ...later]);
    expect(told.slice(2)).toEqual([
      { threadId: 'A', waitMs: 120_100 },
      { threadId: 'B', waitMs: 120_100 },
    ]);
    expect(discord.refused).toEqual([]);
    for (const id of ['A', 'B'])
      expect(partsOf(discord, id)).toEqual([`${id} part 1`, `${id} part 2`, `${id} next`]);
  });

  it("rejects a post Discord refuses, drops the rest of it, and goes on with the thread's next post", async () => {
    const clock = new ManualClock();
    const discord = new FakeDiscord(clock, { ...DISCORD, failing: new Set(['a1 part 1']) });
    const scheduler = schedulerOn(discord, clock);

    const failed = scheduler.post(post('A', ['a1 part 1', 'a1 part 2']));
    const next = scheduler.post(post('A', ['a2']));
    const outcome = failed.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await pass(clock, 1000);

    expect(await outcome).toBe('refused a1 part 1');
    await next;
    expect(discord.sent.map((s) => s.part)).toEqual(['a2']);
  });

  it('counts a message from its response, so a slow answer never lets the next one in early', async () => {
    const clock = new ManualClock();
    const channel = { limit: 2, windowMs: 1000 };
    const discord = new FakeDiscord(clock, { ...DISCORD, channel, latencyMs: 300 });
    const scheduler = schedulerOn(discord, clock, { channel, marginMs: 0 });

    const done = Promise.all(['a', 'b', 'c', 'd'].map((part) => scheduler.post(post(part, [part]))));
    await pass(clock, 5000);
    await done;

    expect(discord.refused).toEqual([]);
    const times = discord.sent.map((s) => s.at - discord.sent[0]!.at);
    // One in flight at a time; the 3rd waits a window after the 1st was answered (300 + 1000).
    expect(times).toEqual([0, 300, 1300, 1600]);
  });
});

describe('edits in the posting lane', () => {
  it('take the webhook budget but not the channel one: an edit goes out while new messages wait', async () => {
    const clock = new ManualClock();
    const sent: Array<{ part: string; at: number }> = [];
    // A port that counts every request against the webhook and only new messages against the channel.
    const port: PostingPort<string> = {
      async send(_target, part) {
        sent.push({ part, at: clock.now() });
        return { delivered: true, rateLimited: [] };
      },
    };
    const scheduler = createPostingScheduler({
      port,
      clock,
      logger: createSilentLogger(),
      limits: { webhook: { limit: 5, windowMs: 1000 }, channel: { limit: 2, windowMs: 60_000 }, marginMs: 0 },
    });

    const done = Promise.all([
      scheduler.post(post('A', ['new 1'])),
      scheduler.post(post('A', ['new 2'])),
      scheduler.post(post('B', ['edit 1'], { edit: true })),
      scheduler.post(post('C', ['new 3'])),
      scheduler.post(post('B', ['edit 2'], { edit: true })),
    ]);
    await pass(clock, 500);
    // The channel's two messages are used; the edits did not wait for its window.
    // Threads take turns (A, B, C); B's second edit passes A's message that waits for the window.
    expect(sent.map((s) => s.part)).toEqual(['new 1', 'edit 1', 'new 3', 'edit 2']);
    await pass(clock, 60_000);
    await done;
    expect(sent.at(-1)).toMatchObject({ part: 'new 2' });
    expect(sent.at(-1)?.at).toBeGreaterThanOrEqual(60_000);
  });
});
