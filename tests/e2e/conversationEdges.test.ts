import { describe, expect, it } from 'vitest';
import { personaPosts } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED } = TEST_MODELS;
const bot = useBotHarness();

describe('the edges of a conversation', () => {
  it('answers an empty mention with a usage hint and starts nothing', async () => {
    const h = await bot.start();
    h.discord.userSays(h.userId, h.discord.channelId, '', { mentionBot: true });
    const hint = await h.discord.waitFor(() =>
      h.discord.messages(h.discord.channelId).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(hint.content).toMatch(/Mention me with a task/);
    expect(h.discord.threads()).toHaveLength(0);
  });

  it('explains in a direct message that it works in servers', async () => {
    const h = await bot.start();
    const dm = h.discord.userDMs(h.userId, 'hello bot');
    const reply = await h.discord.waitFor(() =>
      h.discord.messages(dm.channel_id).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(reply.content).toMatch(/I work in servers/);
  });

  it('ignores messages that do not mention it outside its threads, and other bots', async () => {
    const h = await bot.start();
    const other = h.discord.createUser('otherbot', { bot: true });
    h.discord.userSays(h.userId, h.discord.channelId, 'just chatting');
    h.discord.userSays(other, h.discord.channelId, 'hi', { mentionBot: true });
    await h.settle();
    expect(h.discord.threads()).toHaveLength(0);
    expect(h.ollama.chats()).toHaveLength(0);
  });

  it('reads a text attachment as part of the task, and says when one is too large', async () => {
    const h = await bot.start({ env: { ATTACHMENT_MAX_BYTES: '200' } });
    h.scriptRound('files');
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Summarize these', {
      mentionBot: true,
      attachments: [
        {
          filename: 'notes.txt',
          content: 'The secret word is PINEAPPLE.',
          contentType: 'text/plain; charset=utf-8',
        },
        { filename: 'big.md', content: 'x'.repeat(5000), contentType: 'text/markdown' },
      ],
    });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 4 || undefined, 10_000);
    expect(h.ollama.chats(ALFRED)[0]?.messages[1]?.content).toContain('PINEAPPLE');
    expect(h.ollama.chats(ALFRED)[0]?.messages[1]?.content).not.toContain('xxxxx');
    const notice = h.discord.messages(message.id).find((m) => m.content.includes('big.md'));
    expect(notice?.content).toMatch(/ATTACHMENT_MAX_BYTES/);
  });
});
