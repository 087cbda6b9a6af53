import { describe, expect, it } from 'vitest';
import type { BotHarness } from '../support/botHarness.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const bot = useBotHarness();

const TASK = 'What is the capital city of France?';

/** The texts the bot asked the embedding model for. */
const embedded = (harness: BotHarness) =>
  harness.ollama.requests
    .filter((r) => r.path === '/api/embed')
    .flatMap((r) => [(r.body as { input: string | string[] }).input].flat());

async function mentionWithoutThread(harness: BotHarness) {
  harness.discord.failNext({
    method: 'POST',
    path: /\/threads$/,
    status: 403,
    code: 50013,
    message: 'Missing Permissions',
  });
  harness.discord.userSays(harness.userId, harness.discord.channelId, TASK, { mentionBot: true });
  await harness.discord.waitFor(() =>
    harness.discord
      .messages(harness.discord.channelId)
      .find((m) => m.author.id === harness.discord.botUserId),
  );
}

describe("recall's embedding starts as the task arrives", () => {
  it('begins before the thread exists: a mention whose thread fails was already embedded', async () => {
    const h = await bot.start();
    await h.runtime.memory.record({
      conversationId: 'earlier',
      run: 1,
      task: 'Which city is the capital of France?',
      answer: 'Paris.',
      turns: [],
      models: [],
      trajectory: [],
      finalDissonance: null,
      guildId: h.discord.guildId,
      channelId: h.discord.channelId,
      codexVersion: 1,
      startedAt: 0,
      finishedAt: 1,
    });
    await mentionWithoutThread(h);
    expect(embedded(h)).toContain(TASK);
    expect(h.ollama.chats()).toEqual([]);
  });

  it('makes no call at all while the memory holds nothing', async () => {
    const h = await bot.start();
    await mentionWithoutThread(h);
    expect(embedded(h)).toEqual([]);
  });

  it('embeds the task once for the whole run: the vector begun on arrival serves recall', async () => {
    const h = await bot.start({ env: { MEMORY_SIMILARITY_FLOOR: '0.3' } });
    h.scriptRound('first');
    const first = h.discord.userSays(h.userId, h.discord.channelId, 'Which city is the capital of France?', {
      mentionBot: true,
    });
    await h.discord.waitFor(async () => ((await h.runtime.memory.stats()).vectors === 1 ? true : undefined));
    h.scriptRound('second');
    const second = h.discord.userSays(h.userId, h.discord.channelId, TASK, { mentionBot: true });
    await h.discord.waitFor(async () => ((await h.runtime.memory.stats()).vectors === 2 ? true : undefined));
    expect(first.id).not.toBe(second.id);
    expect(embedded(h).filter((text) => text === TASK)).toHaveLength(1);
    expect(
      h.ollama.chats().find((c) => c.messages[1]?.content.includes(TASK))?.messages[1]?.content,
    ).toContain('Related past dialogues');
  });
});
