import { PermissionFlagsBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/bot/interactions/command.ts';
import { type BotHarness, type BotHarnessOptions, startBotHarness } from '../support/botHarness.ts';
import { ManualClock } from '../support/clock.ts';
import type { EmulatedMessage } from '../support/discordEmulator.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { closedPort, registerTool } from '../support/scripts.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
let h: BotHarness | undefined;

async function start(options: BotHarnessOptions = {}) {
  h = await startBotHarness(options);
  return h;
}

afterEach(async () => {
  if (!h) return;
  const unknown = h.discord.requests.filter((r) => r.status === 404 && !/webhooks/.test(r.path));
  await h.close();
  h = undefined;
  expect(unknown, 'requests to routes the emulator does not know').toEqual([]);
});

const personaPosts = (h: BotHarness, threadId: string) =>
  h.discord.messages(threadId).filter((m) => m.webhook_id);
const speakers = (messages: EmulatedMessage[]) => messages.map((m) => m.author.username);

async function mentionAndWait(h: BotHarness, task: string, posts = 4) {
  const message = h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true });
  const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await h.discord.waitFor(() => personaPosts(h, thread.id).length >= posts || undefined, 10_000);
  return thread;
}

/** Reads the task a prompt was built for (the first line after "The Architect's request:"). */
const taskOf = (content: string) => /The Architect's request:\n(.*)/.exec(content)?.[1] ?? '';

describe('a mention opens a thread where each persona speaks as itself', () => {
  it('posts ALFRED, BRICK, ROBIN, ALFRED through one webhook into the thread, with names and avatars', async () => {
    const h = await start();
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
    const h = await start();
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
    const h = await start();
    h.scriptRound('a');
    const thread = await mentionAndWait(h, 'First');
    h.scriptRound('b');
    h.discord.userSays(h.userId, thread.id, 'Second', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 8 || undefined, 10_000);
    expect(h.discord.threads()).toHaveLength(1);
  });

  it('answers messages queued in one thread in order, one run at a time', async () => {
    const h = await start();
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
    const h = await start();
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
    // The notice waits 5 s of queueing (tests/unit/bot/dialogueRunner.test.ts); these waits are short.
    expect(notices).toEqual([]);
    // Both threads hang off one channel: one webhook, created once despite the race.
    expect(h.discord.webhooks()).toHaveLength(1);
    expect(
      h.discord.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/webhooks')),
    ).toHaveLength(1);
  });

  it('splits a turn over 2000 characters without breaking its code block', async () => {
    const h = await start();
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

  it('never lets model output ping @everyone, roles or users', async () => {
    const h = await start();
    h.ollama
      .script(ALFRED, ['@everyone listen', 'answer <@&123456789012345678>'])
      .script(BRICK, [`<@${h.userId}> hello`])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const thread = await mentionAndWait(h, 'Ping test');
    for (const post of personaPosts(h, thread.id)) expect(post.allowed_mentions).toMatchObject({ parse: [] });
  });

  it('recreates the webhook once when Discord has deleted it mid-dialogue (10015)', async () => {
    const h = await start();
    h.ollama
      .script(ALFRED, ['plan', 'answer'])
      .script(BRICK, [{ content: 'thesis', delayMs: 300 }])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 1 || undefined);
    const [first] = h.discord.webhooks();
    h.discord.deleteWebhook(first?.id ?? '');

    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 4 || undefined, 10_000);

    expect(speakers(personaPosts(h, message.id))).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    const live = h.discord.webhooks().filter((w) => w.id !== first?.id);
    expect(live).toHaveLength(1);
    expect(await h.store.get(`webhook:${h.discord.channelId}`)).toMatchObject({ id: live[0]?.id });
  });

  it('waits out a 429 as Retry-After says and loses no turn', async () => {
    const h = await start();
    h.scriptRound('rl');
    h.discord.failNext({
      method: 'POST',
      path: /^\/api\/v10\/webhooks\/\d+\/[^/]+$/,
      status: 429,
      retryAfter: 0.3,
    });
    const thread = await mentionAndWait(h, 'Rate limited');
    expect(speakers(personaPosts(h, thread.id))).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    const limited = h.discord.requests.findIndex((r) => r.status === 429);
    const retry = h.discord.requests.findIndex(
      (r, i) => i > limited && /\/webhooks\//.test(r.path) && r.status === 200,
    );
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(h.discord.requests[retry]!.at - h.discord.requests[limited]!.at).toBeGreaterThanOrEqual(250);
  });

  it('still answers without Manage Webhooks, as itself, and says once which permission is missing', async () => {
    const h = await start();
    const all = Object.values(PermissionFlagsBits).reduce((a, b) => a | b, 0n);
    h.discord.setBotPermissions(
      all & ~PermissionFlagsBits.ManageWebhooks & ~PermissionFlagsBits.Administrator,
    );
    h.scriptRound('x');
    const first = h.discord.userSays(h.userId, h.discord.channelId, 'One', { mentionBot: true });
    const answered = (id: string) =>
      h.discord.messages(id).filter((m) => m.author.id === h.discord.botUserId);
    await h.discord.waitFor(() => answered(first.id).length >= 5 || undefined, 10_000);
    h.scriptRound('y');
    const second = h.discord.userSays(h.userId, h.discord.channelId, 'Two', { mentionBot: true });
    await h.discord.waitFor(() => answered(second.id).length >= 4 || undefined, 10_000);

    const firstContents = answered(first.id).map((m) => m.content);
    expect(firstContents[0]).toMatch(/Manage Webhooks/);
    expect(firstContents.slice(1)).toEqual([
      '**ALFRED:** plan x',
      '**BRICK:** thesis x',
      '**ROBIN:** antithesis x\n-# dissonance: 0.10',
      '**ALFRED:** answer x',
    ]);
    expect(answered(second.id).some((m) => /Manage Webhooks/.test(m.content))).toBe(false);
    expect(h.discord.webhooks()).toHaveLength(0);
  });

  it('says once, clearly, that Ollama is down, and the thread stays usable', async () => {
    const port = await closedPort();
    const h = await start({ env: { OLLAMA_HOST: `http://127.0.0.1:${port}` } });

    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Hello?', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.includes('Ollama')),
    );

    expect(notice.content).toBe(
      `⚠️ cannot reach Ollama at http://127.0.0.1:${port}: start it with \`ollama serve\` (or set OLLAMA_HOST) (I tried again a few times first.)`,
    );
    h.discord.userSays(h.userId, message.id, 'Still there?');
    await h.discord.waitFor(
      () =>
        h.discord.messages(message.id).filter((m) => m.content.includes('Ollama')).length >= 2 || undefined,
    );
    expect(h.discord.messages(message.id).filter((m) => m.author.id === h.discord.botUserId)).toHaveLength(2);
  });
});

describe('failures are one clear message in the thread', () => {
  it('names the model to pull when a persona model is missing', async () => {
    const h = await start();
    h.ollama.models.delete(BRICK);
    h.ollama.script(ALFRED, ['plan']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.startsWith('⚠️')),
    );
    expect(notice.content).toBe(`⚠️ model ${BRICK} is not pulled: \`ollama pull ${BRICK}\``);
  });

  it('says so when Discord refuses a post', async () => {
    const h = await start();
    h.scriptRound('refused');
    h.discord.failNext({
      method: 'POST',
      path: /\/webhooks\/\d+\/[^/]+$/,
      status: 400,
      code: 50035,
      message: 'Invalid Form Body',
    });
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const notice = await h.discord.waitFor(() =>
      h.discord.messages(message.id).find((m) => m.content.startsWith('⚠️')),
    );
    expect(notice.content).toMatch(/Discord refused a post \(50035/);
  });
});

describe('the edges of a conversation', () => {
  it('answers an empty mention with a usage hint and starts nothing', async () => {
    const h = await start();
    h.discord.userSays(h.userId, h.discord.channelId, '', { mentionBot: true });
    const hint = await h.discord.waitFor(() =>
      h.discord.messages(h.discord.channelId).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(hint.content).toMatch(/Mention me with a task/);
    expect(h.discord.threads()).toHaveLength(0);
  });

  it('explains in a direct message that it works in servers', async () => {
    const h = await start();
    const dm = h.discord.userDMs(h.userId, 'hello bot');
    const reply = await h.discord.waitFor(() =>
      h.discord.messages(dm.channel_id).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(reply.content).toMatch(/I work in servers/);
  });

  it('ignores messages that do not mention it outside its threads, and other bots', async () => {
    const h = await start();
    const other = h.discord.createUser('otherbot', { bot: true });
    h.discord.userSays(h.userId, h.discord.channelId, 'just chatting');
    h.discord.userSays(other, h.discord.channelId, 'hi', { mentionBot: true });
    await h.settle();
    expect(h.discord.threads()).toHaveLength(0);
    expect(h.ollama.chats()).toHaveLength(0);
  });

  it('reads a text attachment as part of the task, and says when one is too large', async () => {
    const h = await start({ env: { ATTACHMENT_MAX_BYTES: '200' } });
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

  it('says so in the channel when the thread cannot be created', async () => {
    const h = await start();
    h.discord.failNext({
      method: 'POST',
      path: /\/threads$/,
      status: 400,
      code: 160004,
      message: 'A thread has already been created for this message',
    });
    h.discord.userSays(h.userId, h.discord.channelId, 'Task', { mentionBot: true });
    const reply = await h.discord.waitFor(() =>
      h.discord.messages(h.discord.channelId).find((m) => m.author.id === h.discord.botUserId),
    );
    expect(reply.content).toMatch(/thread already exists/);
  });

  it('shuts down cleanly mid-dialogue, keeping what was said, and continues after a restart', async () => {
    const h = await start();
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

describe('slash commands', () => {
  it('/ask starts a thread and runs the dialogue there', async () => {
    const h = await start();
    h.scriptRound('ask');
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'ask', {
      task: 'Name a good cat',
    });
    const thread = await h.discord.waitFor(() => h.discord.threads()[0]);
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 4 || undefined, 10_000);
    expect(thread.name).toBe('Name a good cat');
    expect(h.discord.interaction(interaction.id).responses[0]?.data?.content).toContain(thread.id);
    expect(h.discord.messages(thread.id)[0]?.content).toBe('**alice asked:** Name a good cat');
  });

  it('/personas lists each persona with role, model and principles', async () => {
    const h = await start();
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'personas');
    const response = await h.discord.waitFor(() => h.discord.interaction(interaction.id).responses[0]);
    const fields = response.data.embeds[0].fields as Array<{ name: string; value: string }>;
    expect(fields.map((f) => f.name)).toEqual(['ALFRED', 'BRICK', 'ROBIN']);
    expect(fields[1]?.value).toContain(BRICK);
    expect(fields[1]?.value).toMatch(/3 principles/);
  });

  it('/status reports Ollama, the persona models, the queue and uptime', async () => {
    const h = await start();
    h.ollama.models.delete(ROBIN);
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const edit = await h.discord.waitFor(() => h.discord.interaction(interaction.id).edits[0]);
    expect(h.discord.interaction(interaction.id).responses[0]).toMatchObject({
      type: 5,
      data: { flags: 64 },
    });
    const text = JSON.stringify(edit.embeds);
    expect(text).toContain('Ollama 0.12.6');
    expect(text).toContain(`not pulled: \`ollama pull ${ROBIN}\``);
    expect(text).toMatch(/0 running, 0 queued/);
    expect(text).toMatch(/Active threads: 0/);
    expect(text).toMatch(/0 dialogues remembered/);
    // Where the host keeps Ollama and the data is for the architect only.
    expect(text).not.toContain(h.runtime.config.ollamaHost);
    expect(text).not.toContain(h.runtime.config.dataDir);
    const architect = h.discord.createUser('ada', { roles: [h.discord.createRole('architect')] });
    const asArchitect = await h.discord.runCommand(architect, h.discord.channelId, 'status');
    const details = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).edits[0])).embeds,
    );
    expect(details).toContain(`Ollama 0.12.6 at ${h.runtime.config.ollamaHost}`);
    expect(details).toContain(h.runtime.config.dataDir);
  });

  it('refuses an architect-only command to a member without the role, server side', async () => {
    const calls: string[] = [];
    const govern: Command = {
      data: { name: 'govern', description: 'An architect-only test command' },
      architectOnly: true,
      async execute(interaction) {
        calls.push(interaction.user.id);
        await interaction.reply({ content: 'governed' });
      },
    };
    const h = await start({ extraCommands: [govern] });
    const role = h.discord.createRole('architect');
    const architect = h.discord.createUser('ada', { roles: [role] });

    const denied = await h.discord.runCommand(h.userId, h.discord.channelId, 'govern');
    const refusal = await h.discord.waitFor(() => h.discord.interaction(denied.id).responses[0]);
    expect(refusal).toMatchObject({
      type: 4,
      data: { flags: 64, content: expect.stringMatching(/architect/) },
    });

    const allowed = await h.discord.runCommand(architect, h.discord.channelId, 'govern');
    await h.discord.waitFor(() => h.discord.interaction(allowed.id).responses[0]);
    expect(calls).toEqual([architect]);
  });

  it('turns a failing command into an ephemeral error reply', async () => {
    const broken: Command = {
      data: { name: 'broken', description: 'Always fails' },
      defer: 'public',
      async execute() {
        throw new Error('kaboom');
      },
    };
    const h = await start({ extraCommands: [broken] });
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'broken');
    const reply = await h.discord.waitFor(() => h.discord.interaction(interaction.id).followups[0]);
    expect(reply.content).toMatch(/Something went wrong on my side \(incident `[0-9a-f]{8}`\)/);
    expect(reply.content).not.toContain('kaboom');
    expect(reply.flags).toBe(64);
  });
});

describe('/memory', () => {
  it('finds an earlier dialogue with its similarity, date and thread link', async () => {
    const h = await start();
    h.scriptRound('france');
    const thread = await mentionAndWait(h, 'What is the capital of France?');
    // The run is recorded and embedded just after its last post.
    await h.discord.waitFor(() => {
      const stats = h.runtime.memory.stats();
      return (stats.dialogues === 1 && stats.pending === 0) || undefined;
    });
    const interaction = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { query: 'capital of France' },
      'search',
    );
    const edit = await h.discord.waitFor(() => h.discord.interaction(interaction.id).edits[0]);
    const description = edit.embeds[0].description as string;
    expect(description).toContain(`https://discord.com/channels/${h.discord.guildId}/${thread.id}`);
    expect(description).toMatch(/\*\*\d+%\*\* · \d{4}-\d{2}-\d{2}/);
    expect(description).toContain('What is the capital of France?');
  });

  it("forgets the asker's own dialogue, and refuses someone else's to a non-architect", async () => {
    const h = await start();
    h.scriptRound('mine');
    const thread = await mentionAndWait(h, 'What is the capital of France?');
    const stranger = h.discord.createUser('mallory');

    const refused = await h.discord.runCommand(
      stranger,
      h.discord.channelId,
      'memory',
      { thread: thread.id },
      'forget',
    );
    const refusal = await h.discord.waitFor(() => h.discord.interaction(refused.id).edits[0]);
    expect(refusal.content).toMatch(/other people's dialogues/);
    expect(h.runtime.memory.records(thread.id)).toHaveLength(1);

    const link = `https://discord.com/channels/${h.discord.guildId}/${thread.id}`;
    const forgot = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { thread: link },
      'forget',
    );
    const confirmation = await h.discord.waitFor(() => h.discord.interaction(forgot.id).edits[0]);
    expect(confirmation.content).toMatch(/Forgotten: 1 dialogue/);
    expect(h.runtime.memory.records(thread.id)).toEqual([]);
    expect(await h.runtime.memory.recall('capital of France', { floor: 0 })).toEqual([]);
    expect(await h.runtime.dialogue.exists(thread.id)).toBe(false);
  });
});

describe('limits per member', () => {
  it('refuses politely past MEMBER_RUNS_PER_HOUR, saying when to try again, and lets the member in an hour later', async () => {
    const clock = new ManualClock('2026-11-30T10:00:00Z');
    // The clock stands still between the test's own steps: Discord's limits are lifted here, or
    // the posting engine would wait on it for a window to pass.
    const h = await start({
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

describe('memory never crosses channel permissions', () => {
  it('recalls and finds a dialogue only for those who can read the channel it was held in', async () => {
    const h = await start({ env: { MEMORY_SIMILARITY_FLOOR: '0', MEMORY_RECALL_K: '5' } });
    // #council: the member role may not read it; bob may, by name.
    const council = h.discord.createChannel('council');
    h.discord.hideChannelFrom(council, h.discord.memberRoleId);
    const bob = h.discord.createUser('bob');
    h.discord.setChannelOverwrite(council, bob, { allow: PermissionFlagsBits.ViewChannel });
    h.scriptRound('secret');
    const secret = h.discord.userSays(bob, council, 'The launch code is swordfish. Keep it safe.', {
      mentionBot: true,
    });
    await h.discord.waitFor(() => personaPosts(h, secret.id).length >= 4 || undefined, 10_000);
    await h.discord.waitFor(() => (h.runtime.memory.stats().pending === 0 ? true : undefined));

    // Alice, in the public channel: /memory search finds nothing of it, ALFRED recalls nothing of it.
    const search = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { query: 'launch code' },
      'search',
    );
    const found = await h.discord.waitFor(() => h.discord.interaction(search.id).edits[0]);
    expect(JSON.stringify(found)).not.toContain('swordfish');
    h.scriptRound('public');
    await mentionAndWait(h, 'What is the launch code?');
    const plan = h.ollama.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';
    expect(plan).toContain('What is the launch code?');
    expect(plan).not.toContain('swordfish');

    // Bob can read #council: his search finds it; so does a dialogue held in #council itself.
    const bobs = await h.discord.runCommand(
      bob,
      h.discord.channelId,
      'memory',
      { query: 'launch code' },
      'search',
    );
    const his = await h.discord.waitFor(() => h.discord.interaction(bobs.id).edits[0]);
    expect(JSON.stringify(his)).toContain('swordfish');
    h.scriptRound('again');
    const inCouncil = h.discord.userSays(bob, council, 'Remind me of the code', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, inCouncil.id).length >= 4 || undefined, 10_000);
    expect(h.ollama.chats(ALFRED).at(-2)?.messages[1]?.content).toContain('swordfish');
  });
});

describe('nobody is left waiting across a restart', () => {
  it('tells a thread whose dialogue a crash cut short, at the next start', async () => {
    const h = await start();
    h.ollama
      .script(ALFRED, ['plan before the crash'])
      .script(BRICK, [{ content: 'never said', delayMs: 600_000 }]);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Long task', { mentionBot: true });
    await h.discord.waitFor(() => personaPosts(h, message.id).length >= 1 || undefined);
    await h.discord.waitFor(async () =>
      (await h.store.get<string[]>('continuity:running'))?.includes(message.id) ? true : undefined,
    );
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
    const h = await start();
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

describe('a thread closed mid-dialogue', () => {
  it('says so in the channel when the thread was archived and locked under it', async () => {
    const h = await start();
    h.ollama.respond(async (request) => {
      if (request.model === BRICK) {
        // A moderator archives and locks the thread while BRICK thinks.
        h.discord.archiveThread(h.discord.threads()[0]?.id ?? '', { locked: true });
        return 'thesis';
      }
      return request.model === ROBIN ? 'ok\nDISSONANCE: 0.1' : 'words';
    });
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'A task', { mentionBot: true });
    const notice = await h.discord.waitFor(
      () => h.discord.messages(h.discord.channelId).find((m) => m.content.includes('archived and locked')),
      10_000,
    );
    expect(notice.content).toContain(`<#${message.id}>`);
    expect(notice.author.id).toBe(h.discord.botUserId);
  });
});

describe('one turn never floods a thread', () => {
  it('posts a very long turn in at most four messages, the rest attached as a file', async () => {
    const h = await start();
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

describe('/help and autocomplete', () => {
  it('/help lists what a member may use, and more for the architect', async () => {
    const h = await start();
    const member = await h.discord.runCommand(h.userId, h.discord.channelId, 'help');
    const memberHelp = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(member.id).responses[0])).data,
    );
    expect(memberHelp).toContain('Mention me with a task');
    expect(memberHelp).toContain('/memory search');
    expect(memberHelp).toContain('/forge status');
    expect(memberHelp).not.toContain('/forge finetune');
    expect(memberHelp).not.toContain('/codex propose');
    const architect = h.discord.createUser('ada', { roles: [h.discord.createRole('architect')] });
    const asArchitect = await h.discord.runCommand(architect, h.discord.channelId, 'help');
    const architectHelp = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).responses[0])).data,
    );
    expect(architectHelp).toMatch(/\/forge finetune\*\* — .*\(architect\)/);
    expect(architectHelp).toContain('/codex propose');
  });

  it('completes persona names, their model versions, tool names and codex versions', async () => {
    const h = await start();
    const choicesOf = async (
      name: string,
      options: Record<string, string | number>,
      focused: string,
      sub: string,
    ) => {
      const interaction = await h.discord.runAutocomplete(
        h.userId,
        h.discord.channelId,
        name,
        options,
        focused,
        sub,
      );
      const response = await h.discord.waitFor(() => h.discord.interaction(interaction.id).responses[0]);
      expect(response.type).toBe(8);
      return (response.data as { choices: Array<{ name: string; value: string | number }> }).choices;
    };
    const personas = await choicesOf('forge', { persona: 'ro' }, 'persona', 'finetune');
    expect(personas[0]).toEqual({ name: `ROBIN (${ROBIN})`, value: 'ROBIN' });
    expect(personas.map((c) => c.value).sort()).toEqual(['ALFRED', 'BRICK', 'ROBIN']);
    expect(await choicesOf('forge', { persona: 'ROBIN', version: '' }, 'version', 'rollback')).toEqual([
      { name: `0 · ${ROBIN} (the codex's own)`, value: 0 },
    ]);
    registerTool(h.runtime.tools.registry);
    expect(await choicesOf('tools', { name: 'wo' }, 'name', 'show')).toEqual([
      { name: 'word_count (v1)', value: 'word_count' },
    ]);
    expect(await choicesOf('codex', { version: '' }, 'version', 'rollback')).toEqual([]);
  });
});

describe('metrics and health', () => {
  it('serves Prometheus text and /healthz: 200 while connected, 503 once the bot is gone', async () => {
    const h = await start({ env: { METRICS_PORT: '0' } });
    h.scriptRound('counted');
    await mentionAndWait(h, 'Count this');
    const base = `http://127.0.0.1:${h.app.metricsPort}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^batos_dialogues_total\{outcome="done"\} 1$/m);
    expect(text).toMatch(/^batos_turns_total\{persona="ROBIN"\} 1$/m);
    expect(text).toMatch(
      /^batos_model_call_seconds_count\{persona="BRICK",model="brick-test:latest",outcome="ok"\} 1$/m,
    );
    expect(text).toMatch(
      /^batos_model_first_token_seconds_count\{persona="ALFRED",model="alfred-test:latest"\} 2$/m,
    );
    expect(text).toMatch(/^batos_model_queue_depth\{state="waiting"\} 0$/m);
    expect(text).toMatch(/^batos_process_resident_memory_bytes \d+/m);
    const healthy = await fetch(`${base}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, checks: { discord: true, stores: true } });
    await h.stopBot();
    const down = await fetch(`${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ok: false, checks: { discord: false } });
  });
});
