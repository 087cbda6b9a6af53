import { describe, expect, it } from 'vitest';
import { type BotHarness, SCALED_LIMITS } from '../support/botHarness.ts';
import { taskOf } from '../support/botSteps.ts';
import { rawApi } from '../support/discordEmulatorHarness.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { leastSpan } from '../support/leastSpan.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

/** Discord's limits a tenth as long (5 per 200 ms per webhook, 30 per 6 s per channel), on both sides. */
const { WEBHOOK, CHANNEL, SCALED } = SCALED_LIMITS;

const bot = useBotHarness({
  discord: { rateLimits: { webhook: WEBHOOK, channelWebhookMessages: CHANNEL } },
  compose: { posting: SCALED },
});

/** Every persona answers at once (after `before`, if given), naming the task it works on. */
function instantModels(h: BotHarness, before?: () => Promise<void>) {
  h.ollama.respond(async (request) => {
    await before?.();
    const prompt = request.messages[1]?.content ?? '';
    const task = taskOf(prompt);
    if (request.model === ROBIN) return `antithesis ${task}\nDISSONANCE: 0.1`;
    if (request.model === BRICK) return `thesis ${task}`;
    return /Final draft/.test(prompt) ? `answer ${task}` : `plan ${task}`;
  });
}

const EXECUTE = 'POST /webhooks/:webhook/:token';

describe("persona posts are paced for Discord's limits", () => {
  it('posts 20 dialogues started at once without a 429, in order, taking turns, near the least time the limits allow', async () => {
    const h = await bot.start();
    instantModels(h);
    const tasks = Array.from({ length: 20 }, (_, i) => `task${i}`);
    const mentions = tasks.map((task) =>
      h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true }),
    );
    const personaPosts = (threadId: string) => h.discord.messages(threadId).filter((m) => m.webhook_id);
    await h.discord.waitFor(() => mentions.every((m) => personaPosts(m.id).length >= 4) || undefined, 60_000);

    // Zero 429s, from either limit.
    expect(h.discord.rateLimited).toEqual([]);
    // Every post, in each thread's order, under its persona.
    mentions.forEach((mention, i) => {
      const posts = personaPosts(mention.id);
      expect(posts.map((m) => m.author.username)).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
      expect(posts.map((m) => m.content)).toEqual([
        `plan task${i}`,
        `thesis task${i}`,
        `antithesis task${i}\n-# dissonance: 0.10`,
        `answer task${i}`,
      ]);
    });

    const executes = h.discord.requests.filter((r) => r.route === EXECUTE);
    expect(executes.every((r) => r.status === 200)).toBe(true);
    expect(executes).toHaveLength(80);
    const arrivals = (threadId: string) =>
      executes.filter((r) => r.query.thread_id === threadId).map((r) => r.arrivedAt);
    // Fairness: threads take turns, so every thread's first post came before any thread's last.
    const firsts = mentions.map((m) => arrivals(m.id)[0] ?? Number.POSITIVE_INFINITY);
    const lasts = mentions.map((m) => arrivals(m.id)[3] ?? Number.NEGATIVE_INFINITY);
    expect(Math.max(...firsts)).toBeLessThan(Math.min(...lasts));
    // Time: within 1.2 times the least the two limits allow for 80 messages (both measured on the
    // emulator's clock, from the first message to the last).
    const span = (executes.at(-1)?.arrivedAt ?? 0) - (executes[0]?.arrivedAt ?? 0);
    const least = leastSpan(80, WEBHOOK, CHANNEL);
    expect(least).toBe(12_600);
    expect(span).toBeGreaterThanOrEqual(least);
    expect(span).toBeLessThanOrEqual(1.2 * least);

    // REST calls per dialogue (thread, webhook posts, typing, notices in it): 10 before this
    // scheduler (4 typing and a queue notice each, plus the retries of 429s); now the thread,
    // the 4 posts and at most one notice that Discord's limits hold the thread back.
    const calls = mentions.map(
      (m) =>
        h.discord.requests.filter((r) => r.path.includes(`/${m.id}`) || r.query.thread_id === m.id).length,
    );
    expect(Math.max(...calls)).toBeLessThanOrEqual(6);
    // A thread that waited is told once, as the bot, and the later threads had to wait.
    const notices = mentions.map((m) =>
      h.discord.messages(m.id).filter((msg) => msg.content.startsWith('⏳ Discord is rate-limiting')),
    );
    expect(notices.every((list) => list.length <= 1)).toBe(true);
    expect(notices.filter((list) => list.length === 1).length).toBeGreaterThan(0);
    for (const notice of notices.flat()) {
      expect(notice.author.id).toBe(h.discord.botUserId);
      expect(notice.webhook_id).toBeUndefined();
    }
  });

  it('waits out the shared 429 when another webhook has filled the channel, and loses no post', async () => {
    const channel = { limit: 3, windowMs: 1_500 };
    const h = await bot.start({
      discord: { rateLimits: { webhook: WEBHOOK, channelWebhookMessages: channel } },
      compose: { posting: { ...SCALED, channel } },
    });
    // The plan waits until another webhook has filled the channel's window: only a 429 can tell.
    let asked!: () => void;
    let release!: () => void;
    const planAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const filled = new Promise<void>((resolve) => {
      release = resolve;
    });
    instantModels(h, async () => {
      asked();
      await filled;
    });
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'shared', { mentionBot: true });
    await planAsked;
    const foreign = h.discord.createUserWebhook(h.discord.channelId, 'another bot');
    for (let i = 0; i < 3; i += 1) {
      const sent = await rawApi(h.discord, 'POST', `/webhooks/${foreign.id}/${foreign.token}?wait=true`, {
        body: { content: `foreign ${i}` },
        auth: false,
      });
      expect(sent.status).toBe(200);
    }
    release();
    const posts = () => h.discord.messages(mention.id).filter((m) => m.webhook_id);
    await h.discord.waitFor(() => posts().length >= 4 || undefined, 20_000);

    expect(posts().map((m) => m.content)).toEqual([
      'plan shared',
      'thesis shared',
      'antithesis shared\n-# dissonance: 0.10',
      'answer shared',
    ]);
    expect(h.discord.rateLimited.map((r) => r.scope)).toContain('shared');
    expect(h.discord.rateLimited.every((r) => r.scope === 'shared')).toBe(true);
    // The refused post went again only after Retry-After.
    const executes = h.discord.requests.filter(
      (r) => r.route === EXECUTE && r.query.thread_id === mention.id,
    );
    const refused = executes.findIndex((r) => r.status === 429);
    const retried = executes.findIndex((r, i) => i > refused && r.status === 200);
    const retryAfter = h.discord.rateLimited[0]?.retryAfter ?? 0;
    expect(executes[retried]!.arrivedAt - executes[refused]!.arrivedAt).toBeGreaterThanOrEqual(
      retryAfter * 1000 - 1,
    );
  });

  it('shows "typing…" only for a turn that takes a while', async () => {
    const h = await bot.start();
    h.ollama
      .script(ALFRED, ['plan', 'answer'])
      .script(BRICK, [{ content: 'slow thesis', delayMs: 2_500 }])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'Think hard', { mentionBot: true });
    await h.discord.waitFor(
      () => h.discord.messages(mention.id).filter((m) => m.webhook_id).length >= 4 || undefined,
      20_000,
    );

    const typing = h.discord.requests.filter((r) => r.path.endsWith(`/channels/${mention.id}/typing`));
    const thesis = h.discord.requests.find(
      (r) => r.route === EXECUTE && (r.body as { content?: string }).content === 'slow thesis',
    );
    // BRICK's 2.5 s turn showed it once (renewed only after 8 s); the quick turns not at all.
    expect(typing).toHaveLength(1);
    expect(typing[0]!.arrivedAt).toBeLessThan(thesis!.arrivedAt);
  });
});
