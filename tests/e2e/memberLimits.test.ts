import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts } from '../support/botSteps.ts';
import { ManualClock } from '../support/clock.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const bot = useBotHarness();

describe('limits per member', () => {
  it('refuses politely past MEMBER_RUNS_PER_HOUR, saying when to try again, and lets the member in an hour later', async () => {
    const clock = new ManualClock('2026-11-30T10:00:00Z');
    // The clock stands still between the test's own steps: Discord's limits are lifted here, or
    // the posting engine would wait on it for a window to pass.
    const h = await bot.start({
      env: { MEMBER_RUNS_PER_HOUR: '2' },
      compose: {
        clock,
        posting: { webhook: { limit: 1000, windowMs: 2000 }, channel: { limit: 1000, windowMs: 60_000 } },
      },
      discord: { rateLimits: { webhook: false, channelWebhookMessages: false } },
    });
    h.scriptRound('one');
    const first = await mentionAndWait(h, 'first task');
    h.scriptRound('two');
    h.discord.userSays(h.userId, first.id, 'a follow-up');
    await h.discord.waitFor(() => personaPosts(h, first.id).length >= 8 || undefined, 10_000);
    await clock.advance(10 * 60_000);

    // The third within the hour: no thread, no model call, and the time it may come back.
    const chats = h.ollama.chats().length;
    const third = h.discord.userSays(h.userId, h.discord.channelId, 'third task', { mentionBot: true });
    const refusal = await h.discord.waitFor(() =>
      h.discord
        .messages(h.discord.channelId)
        .find((m) => m.author.id === h.discord.botUserId && m.content.includes('MEMBER_RUNS_PER_HOUR')),
    );
    expect(refusal.message_reference).toMatchObject({ message_id: third.id });
    const retryAt = Math.ceil(Date.parse('2026-11-30T11:00:00Z') / 1000);
    expect(refusal.content).toBe(
      `⏳ You have started 2 dialogues within the hour, the most this server allows (MEMBER_RUNS_PER_HOUR). You can start the next one <t:${retryAt}:R>.`,
    );
    expect(h.discord.threads().some((t) => t.id === third.id)).toBe(false);
    expect(h.ollama.chats()).toHaveLength(chats);
    // Another member is not affected.
    const bob = h.discord.createUser('bob');
    h.scriptRound('bob');
    const bobs = h.discord.userSays(bob, h.discord.channelId, 'bob task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, bobs.id).length >= 4 || undefined, 10_000);

    // An hour after the first, the member may start again.
    await clock.advance(50 * 60_000);
    h.scriptRound('again');
    await mentionAndWait(h, 'fourth task');
  });
});
