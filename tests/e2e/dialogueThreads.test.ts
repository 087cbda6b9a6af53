import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts, speakers, taskOf } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

describe('a mention opens a thread where each persona speaks as itself', () => {
  it('posts ALFRED, BRICK, ROBIN, ALFRED through one webhook into the thread, with names and avatars', async () => {
    const h = await bot.start();
    h.scriptRound('garden');

    const thread = await mentionAndWait(h, 'Plan my garden\nwith roses and tulips');

    expect(thread).toMatchObject({ name: 'Plan my garden', parent_id: h.discord.channelId });
    const posts = personaPosts(h, thread.id);
    expect(speakers(posts)).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    expect(posts.map((m) => m.content)).toEqual([
      'plan garden',
      'thesis garden',
      'antithesis garden\n-# dissonance: 0.10',
      'answer garden',
    ]);
    expect(h.discord.webhooks()).toHaveLength(1);
    // Quick turns show no "typing…" (a slow one does: tests/e2e/posting.test.ts).
    expect(
      h.discord.requests.some((r) => r.method === 'POST' && r.path.endsWith(`/channels/${thread.id}/typing`)),
    ).toBe(false);
    const executes = h.discord.requests.filter(
      (r) => r.method === 'POST' && /^\/api\/v10\/webhooks\//.test(r.path),
    );
    expect(executes.map((r) => r.query.thread_id)).toEqual([thread.id, thread.id, thread.id, thread.id]);
    const avatars = executes.map((r) => (r.body as { avatar_url?: string }).avatar_url);
    expect(avatars[0]).toContain('seed=ALFRED');
    expect(avatars[1]).toContain('seed=BRICK');
    expect(avatars[2]).toContain('seed=ROBIN');
    // The webhook's own messages came back from the gateway and started nothing: once the bot
    // has answered a later message, it has read every event before it.
    await h.settle();
    expect(h.ollama.chats()).toHaveLength(4);
  });

  it('continues the conversation on a follow-up without a mention, remembering the first exchange', async () => {
    const h = await bot.start();
    h.scriptRound('one');
    const thread = await mentionAndWait(h, 'What is the capital of France?');
    h.scriptRound('two');

    h.discord.userSays(h.userId, thread.id, 'How many people live there?');
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 8 || undefined, 10_000);

    expect(speakers(personaPosts(h, thread.id)).slice(4)).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    const plan = h.ollama.chats(ALFRED)[2]?.messages[1]?.content ?? '';
    expect(plan).toContain('What is the capital of France?');
    expect(plan).toContain('answer one');
    expect(h.discord.threads()).toHaveLength(1);
  });

  it('continues, not nests, when the bot is mentioned inside its own thread', async () => {
    const h = await bot.start();
    h.scriptRound('a');
    const thread = await mentionAndWait(h, 'First');
    h.scriptRound('b');
    h.discord.userSays(h.userId, thread.id, 'Second', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 8 || undefined, 10_000);
    expect(h.discord.threads()).toHaveLength(1);
  });

  it('answers messages queued in one thread in order, one run at a time', async () => {
    const h = await bot.start();
    h.ollama.respond(async (request) => {
      const task = taskOf(request.messages[1]?.content ?? '');
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (request.model === ROBIN) return 'ok\nDISSONANCE: 0';
      if (request.model === BRICK) return `thesis for ${task}`;
      return /Final draft/.test(request.messages[1]?.content ?? '')
        ? `answer for ${task}`
        : `plan for ${task}`;
    });
    const first = h.discord.userSays(h.userId, h.discord.channelId, 'one', { mentionBot: true });
    const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === first.id));
    h.discord.userSays(h.userId, thread.id, 'two');
    h.discord.userSays(h.userId, thread.id, 'three');
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 12 || undefined, 10_000);

    const answers = personaPosts(h, thread.id)
      .map((m) => m.content)
      .filter((c) => c.startsWith('answer for'));
    expect(answers).toEqual(['answer for one', 'answer for two', 'answer for three']);
    // Runs never interleave: every turn of 'one' comes before any turn of 'two', and so on.
    const tags = personaPosts(h, thread.id)
      .map((m) => /for (\w+)$/.exec(m.content)?.[1])
      .filter(Boolean);
    expect(tags).toEqual(['one', 'one', 'one', 'two', 'two', 'two', 'three', 'three', 'three']);
  });

  it('runs two threads at once, without a queue notice for a short wait for the model', async () => {
    const h = await bot.start();
    h.ollama.respond(async (request) => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return request.model === ROBIN ? 'ok\nDISSONANCE: 0.1' : `${request.model} speaks`;
    });
    const a = h.discord.userSays(h.userId, h.discord.channelId, 'Task A', { mentionBot: true });
    const b = h.discord.userSays(h.userId, h.discord.channelId, 'Task B', { mentionBot: true });
    await h.discord.waitFor(
      () => (personaPosts(h, a.id).length >= 4 && personaPosts(h, b.id).length >= 4) || undefined,
      15_000,
    );
    const notices = [...h.discord.messages(a.id), ...h.discord.messages(b.id)].filter((m) =>
      m.content.includes('in the queue'),
    );
    // The notice waits 5 s of queueing (tests/unit/bot/dialogue/dialogueRunner.test.ts); these waits are short.
    expect(notices).toEqual([]);
    // Both threads hang off one channel: one webhook, created once despite the race.
    expect(h.discord.webhooks()).toHaveLength(1);
    expect(
      h.discord.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/webhooks')),
    ).toHaveLength(1);
  });

  it('never lets model output ping @everyone, roles or users', async () => {
    const h = await bot.start();
    h.ollama
      .script(ALFRED, ['@everyone listen', 'answer <@&123456789012345678>'])
      .script(BRICK, [`<@${h.userId}> hello`])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const thread = await mentionAndWait(h, 'Ping test');
    for (const post of personaPosts(h, thread.id)) expect(post.allowed_mentions).toMatchObject({ parse: [] });
  });
});
