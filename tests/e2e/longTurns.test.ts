import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

describe('a long turn', () => {
  it('splits a turn over 2000 characters without breaking its code block', async () => {
    const h = await bot.start();
    const code = Array.from(
      { length: 90 },
      (_, i) => `  const step${i} = await perform(${i}); // step ${i}`,
    ).join('\n');
    const long = `Here is the implementation:\n\n\`\`\`ts\nasync function run() {\n${code}\n}\n\`\`\`\n\nThat is the plan.`;
    h.ollama.script(ALFRED, ['plan', 'answer']).script(BRICK, [long]).script(ROBIN, ['ok\nDISSONANCE: 0.1']);

    const thread = await mentionAndWait(h, 'Write the code', 5);

    const brick = personaPosts(h, thread.id).filter((m) => m.author.username === 'BRICK');
    expect(brick.length).toBeGreaterThanOrEqual(2);
    for (const part of brick) {
      expect(part.content.length).toBeLessThanOrEqual(2000);
      expect((part.content.match(/```/g) ?? []).length % 2).toBe(0);
    }
    const lines = brick.flatMap((m) => m.content.split('\n')).filter((l) => l.includes('await perform'));
    expect(lines).toHaveLength(90);
  });

  it('posts a very long turn in at most four messages, the rest attached as a file', async () => {
    const h = await bot.start();
    const huge = Array.from({ length: 400 }, (_, i) => `Line ${i}: ${'x'.repeat(40)}`).join('\n');
    h.ollama.script(ALFRED, ['plan', 'answer']).script(BRICK, [huge]).script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Write a lot', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).find((m) => m.content === 'answer'), 10_000);
    const brick = personaPosts(h, message.id).filter((m) => m.author.username === 'BRICK');
    expect(brick).toHaveLength(4);
    for (const post of brick) expect(post.content.length).toBeLessThanOrEqual(2000);
    const last = brick.at(-1);
    expect(last?.content).toMatch(/the rest of this turn \([\d,]+ characters\) is attached/);
    const rest = await (await fetch(last?.attachments[0]?.url ?? '')).text();
    expect(
      brick
        .slice(0, 3)
        .map((m) => m.content)
        .join('\n') + rest,
    ).toContain('Line 399:');
  });
});
