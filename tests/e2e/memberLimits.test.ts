import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts } from '../support/botSteps.ts';
import { ManualClock } from '../support/clock.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const bot = useBotHarness();

/**
 * The bot with room for two runs a member an hour, on a manual clock. The clock stands still
 * between the test's own steps: Discord's limits are lifted here, or the posting engine would
 * wait on it for a window to pass.
 */
async function startLimited() {
  const clock = new ManualClock('2026-11-30T10:00:00Z');
  const h = await bot.start({
    env: { MEMBER_RUNS_PER_HOUR: '2' },
    compose: {
      clock,
      posting: { webhook: { limit: 1000, windowMs: 2000 }, channel: { limit: 1000, windowMs: 60_000 } },
    },
    discord: { rateLimits: { webhook: false, channelWebhookMessages: false } },
  });
  return { clock, h };
}

describe('limits per member', () => {
  it('refuses politely past MEMBER_RUNS_PER_HOUR, saying when to try again, and lets the member in an hour later', async () => {
    const { clock, h } = await startLimited();
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
      `⏳ You have started 2 dialogues or commands that use the models within the hour, the most this server allows (MEMBER_RUNS_PER_HOUR). You can start the next one <t:${retryAt}:R>.`,
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

  it('counts the slash commands that use the models in the same window: past it a polite refusal with when to retry, while /help still answers', async () => {
    const { clock, h } = await startLimited();
    const search = () =>
      h.discord.runCommand(h.userId, h.discord.channelId, 'memory', { query: 'offsite' }, 'search');
    // A search answers in its deferred reply's edit; a refusal comes at once, in place of the deferral.
    const answered = (id: string) => h.discord.waitFor(() => h.discord.interaction(id).edits[0]);
    h.scriptRound('one');
    await mentionAndWait(h, 'first task');
    await clock.advance(5 * 60_000);
    // The dialogue and one search fill the window of two.
    const first = await search();
    await answered(first.id);

    const second = await search();
    const refusal = await h.discord.waitFor(() => h.discord.interaction(second.id).responses[0]);
    const retryAt = Math.ceil(Date.parse('2026-11-30T11:00:00Z') / 1000);
    expect(refusal).toMatchObject({
      type: 4,
      data: {
        flags: 64,
        content: `⏳ You have started 2 dialogues or commands that use the models within the hour, the most this server allows (MEMBER_RUNS_PER_HOUR). You can use /memory search again <t:${retryAt}:R>.`,
      },
    });
    expect(h.discord.interaction(second.id).responses).toHaveLength(1);

    // What uses no model is not counted: /help and /status still answer.
    const help = await h.discord.runCommand(h.userId, h.discord.channelId, 'help');
    const helped = await h.discord.waitFor(() => h.discord.interaction(help.id).responses[0]);
    expect(JSON.stringify(helped.data)).toContain('Mention me with a task');
    const status = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    expect(JSON.stringify((await answered(status.id)).embeds)).toContain('BAT OS status');

    // The window is shared: a mention is refused too, and another member is not affected.
    h.discord.userSays(h.userId, h.discord.channelId, 'another task', { mentionBot: true });
    await h.discord.waitFor(() =>
      h.discord
        .messages(h.discord.channelId)
        .find((m) => m.author.id === h.discord.botUserId && m.content.includes('MEMBER_RUNS_PER_HOUR')),
    );
    const bob = h.discord.createUser('bob');
    const bobs = await h.discord.runCommand(bob, h.discord.channelId, 'memory', { query: 'x' }, 'search');
    await answered(bobs.id);

    // An hour after the dialogue, the member may search again.
    await clock.advance(55 * 60_000);
    const later = await search();
    await answered(later.id);
  });
});
