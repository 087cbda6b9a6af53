import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts, taskOf } from '../support/botSteps.ts';
import { eventually } from '../support/eventually.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

describe('a clean shutdown', () => {
  it('shuts down cleanly mid-dialogue, keeping what was said, and continues after a restart', async () => {
    const h = await bot.start();
    h.ollama
      .script(ALFRED, ['plan before restart'])
      // BRICK never answers: only the shutdown can end this dialogue.
      .script(BRICK, [{ content: 'never said', delayMs: 600_000 }]);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Long task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 1 || undefined);

    await h.stopBot();
    const stopped = h.discord.messages(message.id).find((m) => m.content.includes('stopped mid-dialogue'));
    expect(stopped).toBeDefined();
    const turns = await h.runtime.dialogue.turns(message.id);
    expect(turns.map((t) => t.content)).toEqual(['Long task', 'plan before restart']);

    await h.restartBot();
    h.scriptRound('after');
    h.discord.userSays(h.userId, message.id, 'Go on');
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 5 || undefined, 10_000);
    expect(personaPosts(h, message.id).at(-1)?.content).toBe('answer after');
    // The persisted webhook was reused after the restart, not created again.
    expect(h.discord.webhooks()).toHaveLength(1);
  });
});

describe('nobody is left waiting across a restart', () => {
  it('tells a thread whose dialogue a crash cut short, at the next start', async () => {
    const h = await bot.start();
    h.ollama
      .script(ALFRED, ['plan before the crash'])
      .script(BRICK, [{ content: 'never said', delayMs: 600_000 }]);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Long task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 1 || undefined);
    // The emulator's waitFor calls its check without awaiting it: a store read is polled here.
    await eventually(async () => (await h.store.get<string[]>('continuity:running'))?.includes(message.id));
    // A crash: the client is gone without a word; nothing told the thread.
    await h.bot.client.destroy();
    expect(h.discord.messages(message.id).some((m) => /stopped/.test(m.content))).toBe(false);

    await h.restartBot();
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.startsWith('⏹️ I stopped unexpectedly')),
    );
    expect(notice.author.id).toBe(h.discord.botUserId);
    expect(await h.store.get('continuity:running')).toEqual([]);
  });

  it('answers mentions and thread replies sent while it was down, oldest first', async () => {
    const h = await bot.start();
    h.scriptRound('before');
    const thread = await mentionAndWait(h, 'First task');
    await h.stopBot();

    // While the bot is down: a reply in its thread, then a new mention.
    h.discord.userSays(h.userId, thread.id, 'And a follow-up');
    const missed = h.discord.userSays(h.userId, h.discord.channelId, 'A task sent while you were away', {
      mentionBot: true,
    });
    expect(h.discord.sessionCount).toBe(0);

    h.ollama.respond(async (request) => {
      const task = taskOf(request.messages[1]?.content ?? '');
      if (request.model === ROBIN) return 'ok\nDISSONANCE: 0.1';
      return `${request.model.split('-')[0]} on ${task}`;
    });
    await h.restartBot();
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 8 || undefined, 10_000);
    const newThread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === missed.id));
    await h.discord.waitFor(() => personaPosts(h, newThread.id).length >= 4 || undefined, 10_000);
    expect(personaPosts(h, thread.id).at(-1)?.content).toBe('alfred on And a follow-up');
    expect(personaPosts(h, newThread.id).at(-1)?.content).toBe('alfred on A task sent while you were away');

    // Read once only: a second restart answers nothing again.
    const chats = h.ollama.chats().length;
    await h.stopBot();
    await h.restartBot();
    await h.settle();
    expect(h.ollama.chats()).toHaveLength(chats);
  });
});
