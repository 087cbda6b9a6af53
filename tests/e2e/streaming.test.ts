import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT } from '../../src/bot/posting/splitMessage.ts';
import { STREAM_CURSOR } from '../../src/bot/posting/turnStream.ts';
import { type BotHarnessOptions, SCALED_LIMITS } from '../support/botHarness.ts';
import { personaPosts } from '../support/botSteps.ts';
import type { RateLimit } from '../support/discordEmulator.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

/** Discord's limits a tenth as long, on both sides; a round of edits every 50 ms per turn. */
const { WEBHOOK, CHANNEL, SCALED } = SCALED_LIMITS;

const bot = useBotHarness({ env: { STREAM_TURNS: 'true' } });

/** A bot whose webhook limit (`webhook`, Discord's scaled one unless given) holds on both sides. */
function start({ webhook = WEBHOOK, ...options }: BotHarnessOptions & { webhook?: RateLimit } = {}) {
  return bot.start({
    discord: { rateLimits: { webhook, channelWebhookMessages: CHANNEL } },
    compose: { posting: { ...SCALED, webhook }, stream: { editIntervalMs: 50 } },
    ...options,
  });
}
const EDIT = 'PATCH /webhooks/:webhook/:token/messages/:message';

describe('streamed persona turns (STREAM_TURNS)', () => {
  it('shows the first words before the model has finished, grows by edits in order, and ends exact', async () => {
    const h = await start();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const thesis =
      'Thesis: a bicycle is the most efficient machine a person can ride, and it costs little to keep.';
    h.ollama
      .script(ALFRED, ['Plan: weigh cost and joy.', 'Final: buy the bicycle.'])
      .script(BRICK, [{ content: thesis, holdAfter: { pieces: 3, until: held }, pieceDelayMs: 5 }])
      .script(ROBIN, [{ content: 'Antithesis: and it is fun!\nDISSONANCE: 0.1', pieceDelayMs: 5 }]);
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'Should I buy a bicycle?', {
      mentionBot: true,
    });

    // BRICK's first three pieces are visible, with the cursor, while his model still holds the rest.
    const early = await h.discord.waitFor(
      () => personaPosts(h, mention.id).find((m) => m.author.username === 'BRICK'),
      10_000,
    );
    // The first piece went out as soon as it came; the rest held so far shows by an edit.
    expect(early.content).toBe(`${thesis.slice(0, 12).trimEnd()}${STREAM_CURSOR}`);
    await h.discord.waitFor(() =>
      h.discord.message(early.id)?.content === `${thesis.slice(0, 36).trimEnd()}${STREAM_CURSOR}`
        ? true
        : undefined,
    );
    // Meanwhile ROBIN waits his turn: only the plan and BRICK's words so far are in the thread.
    expect(personaPosts(h, mention.id)).toHaveLength(2);
    release();

    await h.discord.waitFor(() => (personaPosts(h, mention.id).length >= 4 ? true : undefined), 10_000);
    const posts = personaPosts(h, mention.id);
    expect(posts.map((m) => m.author.username)).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    // The final text is exactly the model's, the dissonance line added at the end.
    await h.discord.waitFor(() =>
      posts.every((m) => !h.discord.message(m.id)?.content.endsWith(STREAM_CURSOR)) ? true : undefined,
    );
    expect(posts.map((m) => h.discord.message(m.id)?.content)).toEqual([
      'Plan: weigh cost and joy.',
      thesis,
      'Antithesis: and it is fun!\n-# dissonance: 0.10',
      'Final: buy the bicycle.',
    ]);
    // BRICK's message grew: every edit is a longer prefix with the cursor, the last one exact.
    const edits = h.discord.edits(early.id).map((e) => e.content);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.at(-1)).toBe(thesis);
    let before = early.content.slice(0, -STREAM_CURSOR.length);
    for (const content of edits.slice(0, -1)) {
      expect(content.endsWith(STREAM_CURSOR)).toBe(true);
      const text = content.slice(0, -STREAM_CURSOR.length);
      expect(thesis.startsWith(text)).toBe(true);
      expect(text.length).toBeGreaterThanOrEqual(before.length);
      before = text;
    }
    // ROBIN's score line never showed while he wrote.
    const robin = posts[2];
    const robinShown = [robin?.content ?? '', ...h.discord.edits(robin?.id ?? '').map((e) => e.content)];
    expect(robinShown.some((c) => /DISSONANCE/.test(c))).toBe(false);
    expect(h.discord.rateLimited).toEqual([]);
  });

  it('goes on in a new message past 2000 characters, code fences balanced, and the split is the finished one', async () => {
    const h = await start();
    const code = Array.from(
      { length: 60 },
      (_, i) => `const value${i} = compute(${i}); // step ${i} of the long plan`,
    );
    const long = `Here is the program:\n\n\`\`\`ts\n${code.join('\n')}\n\`\`\`\n\n${'And a closing thought. '.repeat(40).trim()}`;
    expect(long.length).toBeGreaterThan(2 * MESSAGE_LIMIT);
    h.ollama
      .script(ALFRED, ['plan', 'answer'])
      .script(BRICK, [{ content: long, pieceDelayMs: 1 }])
      .script(ROBIN, ['fine\nDISSONANCE: 0.1']);
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'write it', { mentionBot: true });

    await h.discord.waitFor(
      () =>
        personaPosts(h, mention.id).filter((m) => m.author.username === 'ROBIN').length ? true : undefined,
      20_000,
    );
    const brick = personaPosts(h, mention.id)
      .filter((m) => m.author.username === 'BRICK')
      .map((m) => h.discord.message(m.id)?.content ?? '');
    expect(brick.length).toBe(3);
    for (const part of brick) {
      expect(part.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect((part.match(/```/g) ?? []).length % 2).toBe(0);
      expect(part.endsWith(STREAM_CURSOR)).toBe(false);
    }
    // Joined, the parts are the model's text (the fences closed and reopened at the splits aside).
    const joined = brick.join('\n').replace(/\n```\n```ts\n/g, '\n');
    expect(joined.replace(/\s+/g, ' ')).toBe(long.replace(/\s+/g, ' '));
    expect(h.discord.rateLimited).toEqual([]);
  });

  it('keeps inside a slow webhook bucket with three threads streaming in one channel: no 429, every turn exact', async () => {
    const slow: RateLimit = { limit: 2, windowMs: 400 };
    const h = await start({ webhook: slow });
    const answer = (task: string, what: string) =>
      `${what} for ${task}: ${'a word that streams slowly '.repeat(6).trim()}.`;
    h.ollama.respond((request) => {
      const task = /The Architect's request:\n(.*)/.exec(request.messages[1]?.content ?? '')?.[1] ?? '';
      const prompt = request.messages[1]?.content ?? '';
      if (request.model === ROBIN)
        return { content: `${answer(task, 'antithesis')}\nDISSONANCE: 0.1`, pieceDelayMs: 4 };
      if (request.model === BRICK) return { content: answer(task, 'thesis'), pieceDelayMs: 4 };
      return { content: answer(task, /Final draft/.test(prompt) ? 'answer' : 'plan'), pieceDelayMs: 4 };
    });
    const mentions = ['one', 'two', 'three'].map((task) =>
      h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true }),
    );
    await h.discord.waitFor(
      () =>
        mentions.every(
          (m) =>
            personaPosts(h, m.id).length >= 4 &&
            personaPosts(h, m.id).every((p) => !h.discord.message(p.id)?.content.endsWith(STREAM_CURSOR)),
        ) || undefined,
      60_000,
    );
    expect(h.discord.rateLimited).toEqual([]);
    mentions.forEach((mention, i) => {
      const task = ['one', 'two', 'three'][i] ?? '';
      expect(personaPosts(h, mention.id).map((m) => h.discord.message(m.id)?.content)).toEqual([
        answer(task, 'plan'),
        answer(task, 'thesis'),
        `${answer(task, 'antithesis')}\n-# dissonance: 0.10`,
        answer(task, 'answer'),
      ]);
    });
    // Edits were made, all inside the bucket Discord's headers described: not one 429 above.
    expect(h.discord.requests.some((r) => r.route === EDIT)).toBe(true);
  });

  it('a turn a crash cut short keeps its words and loses its cursor at the next start', async () => {
    const h = await start();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const thesis = 'Thesis: a bicycle is the most efficient machine a person can ride.';
    h.ollama
      .script(ALFRED, ['Plan: weigh cost and joy.'])
      .script(BRICK, [{ content: thesis, holdAfter: { pieces: 3, until: held }, pieceDelayMs: 5 }]);
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'Should I buy a bicycle?', {
      mentionBot: true,
    });
    const partial = `${thesis.slice(0, 36).trimEnd()}`;
    const brick = await h.discord.waitFor(() =>
      personaPosts(h, mention.id).find((m) => m.content === `${partial}${STREAM_CURSOR}`),
    );
    // A crash: the client is gone without a word, BRICK's turn still shows its cursor.
    await h.bot.client.destroy();
    try {
      await h.restartBot();
      await h.discord.waitFor(() => (h.discord.message(brick.id)?.content === partial ? true : undefined));
      await h.discord.waitFor(() =>
        h.discord.messages(mention.id).find((m) => m.content.startsWith('⏹️ I stopped unexpectedly')),
      );
      // Only the cut-short turn was touched.
      expect(personaPosts(h, mention.id).filter((m) => m.content.endsWith(STREAM_CURSOR))).toEqual([]);
    } finally {
      release();
    }
  });

  it('with STREAM_TURNS=false, each turn is one post, never edited', async () => {
    const h = await start({ env: { STREAM_TURNS: 'false' } });
    h.scriptRound('plain');
    const mention = h.discord.userSays(h.userId, h.discord.channelId, 'plain', { mentionBot: true });
    await h.discord.waitFor(() => (personaPosts(h, mention.id).length >= 4 ? true : undefined), 10_000);
    expect(h.discord.requests.filter((r) => r.route === EDIT)).toEqual([]);
    expect(personaPosts(h, mention.id).map((m) => m.content)).toEqual([
      'plan plain',
      'thesis plain',
      'antithesis plain\n-# dissonance: 0.10',
      'answer plain',
    ]);
  });
});
