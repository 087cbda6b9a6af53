import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BotHarness } from '../support/botHarness.ts';
import { architect } from '../support/botSteps.ts';
import type { EmulatedMessage } from '../support/discordEmulator.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import {
  codeAnswer,
  designAnswer,
  registerTool,
  WORD_COUNT_BUGGY,
  WORD_COUNT_DESIGN,
  WORD_COUNT_FIXED,
} from '../support/scripts.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

const cardIn = (messages: EmulatedMessage[]) =>
  messages.find((m) => JSON.stringify(m.embeds).includes('New tool forged'));

/** Forges word_count through /tools forge as the architect; returns the architect's id. */
async function forgeAsArchitect(h: BotHarness) {
  const ada = architect(h);
  h.ollama.script(BRICK, [designAnswer(WORD_COUNT_DESIGN), codeAnswer(WORD_COUNT_FIXED)]);
  const run = await h.discord.runCommand(
    ada,
    h.discord.channelId,
    'tools',
    {
      spec: 'count the words in a text',
    },
    'forge',
  );
  await h.discord.waitFor(() => h.discord.interaction(run.id).edits[0]);
  return ada;
}

describe('the tool forge in Discord', () => {
  it('posts a card with the code and test results in the thread and the log channel, then shows the tool call', async () => {
    const h = await bot.start({ channels: { LOG_CHANNEL_ID: 'bot-log' } });
    h.ollama
      .script(ALFRED, ['plan', 'There are 3 words.'])
      .script(BRICK, [
        'A tool would be exact.\nTOOL_REQUIRED: count the words in a text',
        designAnswer(WORD_COUNT_DESIGN),
        codeAnswer(WORD_COUNT_BUGGY),
        codeAnswer(WORD_COUNT_FIXED),
        'TOOL_CALL: word_count {"text": "one two  three"}',
        'The tool counts 3.',
      ])
      .script(ROBIN, ['Sure.\nDISSONANCE: 0.5', 'Yes.\nDISSONANCE: 0.1']);

    const message = h.discord.userSays(h.userId, h.discord.channelId, 'How many words in "one two  three"?', {
      mentionBot: true,
    });
    const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
    await h.discord.waitFor(
      () => h.discord.messages(thread.id).some((m) => m.content === 'There are 3 words.') || undefined,
      15_000,
    );

    const card = cardIn(h.discord.messages(thread.id));
    expect(card).toBeDefined();
    const embed = JSON.stringify(card?.embeds);
    expect(embed).toContain('word_count');
    expect(embed).toContain('4/4 passed');
    expect(embed).toContain('held out');
    expect(embed).toMatch(/2 rounds \(1 failed, fed back\)/);
    expect(card?.attachments.map((a) => a.filename)).toEqual(['word_count-v1.js']);
    const code = await (await fetch(card?.attachments[0]?.url ?? '')).text();
    expect(code).toBe(WORD_COUNT_FIXED);

    // BRICK's next turn shows the call and its result under his name.
    const brick = h.discord.messages(thread.id).find((m) => m.content.includes('The tool counts 3.'));
    expect(brick?.author.username).toBe('BRICK');
    expect(brick?.content).toContain('-# 🛠️ used word_count({"text":"one two  three"}) → 3');

    // The log channel got the same card, with a link to the thread.
    const logged = await h.discord.waitFor(() => cardIn(h.discord.messages(h.channels.LOG_CHANNEL_ID ?? '')));
    expect(logged.content).toBe(`-# asked for in <#${thread.id}>`);
    expect(logged.attachments.map((a) => a.filename)).toEqual(['word_count-v1.js']);
  });

  it('/tools forge is the architect’s: refused to others, a card for the architect', async () => {
    const h = await bot.start();
    const refused = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { spec: 'count the words in a text' },
      'forge',
    );
    const refusal = await h.discord.waitFor(() => h.discord.interaction(refused.id).responses[0]);
    expect(refusal).toMatchObject({
      type: 4,
      data: { flags: 64, content: expect.stringMatching(/architect/) },
    });
    expect(h.ollama.chats(BRICK)).toHaveLength(0);

    const ada = await forgeAsArchitect(h);
    const original = h.discord
      .messages(h.discord.channelId)
      .find((m) => m.interaction_metadata && JSON.stringify(m.embeds).includes('New tool forged'));
    expect(original?.attachments.map((a) => a.filename)).toEqual(['word_count-v1.js']);
    expect(JSON.stringify(original?.embeds)).toContain(`<@${ada}>`);
    expect(h.runtime.tools.registry.get('word_count')?.manifest.requestedBy).toBe(ada);
  });

  it('FORGE_OPEN_TO_ALL lets any member forge (also through /forge tool, the older name)', async () => {
    const h = await bot.start({ env: { FORGE_OPEN_TO_ALL: 'true' } });
    h.ollama.script(BRICK, [designAnswer(WORD_COUNT_DESIGN), codeAnswer(WORD_COUNT_FIXED)]);
    const run = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'forge',
      { spec: 'count the words in a text' },
      'tool',
    );
    const edit = await h.discord.waitFor(() => h.discord.interaction(run.id).edits[0]);
    expect(JSON.stringify(edit.embeds)).toContain('New tool forged');
    // (Through /forge tool, the older name of /tools forge, which still works.)
  });

  it('a /tools forge that outlives its interaction token posts its card in the channel instead', async () => {
    const h = await bot.start({
      env: { FORGE_OPEN_TO_ALL: 'true' },
      discord: { interactionTokenLifetimeMs: 400 },
    });
    h.ollama.script(BRICK, [
      { content: designAnswer(WORD_COUNT_DESIGN), delayMs: 700 },
      codeAnswer(WORD_COUNT_FIXED),
    ]);
    await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { spec: 'count the words in a text' },
      'forge',
    );
    const posted = await h.discord.waitFor(() => cardIn(h.discord.messages(h.discord.channelId)), 10_000);
    expect(posted.content).toContain(
      `<@${h.userId}> your /tools took longer than Discord keeps a reply open.`,
    );
    expect(posted.attachments.map((a) => a.filename)).toEqual(['word_count-v1.js']);
  });

  it('/tools list and show; remove is refused to a member and archives for the architect', async () => {
    const h = await bot.start();
    const empty = await h.discord.runCommand(h.userId, h.discord.channelId, 'tools', {}, 'list');
    expect((await h.discord.waitFor(() => h.discord.interaction(empty.id).edits[0])).content).toMatch(
      /No tools yet/,
    );

    const ada = await forgeAsArchitect(h);

    const list = await h.discord.runCommand(h.userId, h.discord.channelId, 'tools', {}, 'list');
    const listed = await h.discord.waitFor(() => h.discord.interaction(list.id).edits[0]);
    expect(JSON.stringify(listed.embeds)).toMatch(/word_count\*\* v1 — Counts the words/);

    const show = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { name: 'word_count' },
      'show',
    );
    const token = h.discord.interaction(show.id).token;
    await h.discord.waitFor(() => h.discord.interaction(show.id).edits[0]);
    const upload = h.discord.requests.find((r) => r.method === 'PATCH' && r.path.includes(token));
    expect(upload?.files?.map((f) => f.filename)).toEqual([
      'word_count-v1.js',
      'word_count-v1.manifest.json',
    ]);

    const missing = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { name: 'nope' },
      'show',
    );
    expect((await h.discord.waitFor(() => h.discord.interaction(missing.id).edits[0])).content).toMatch(
      /no tool named `nope`/,
    );

    const denied = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { name: 'word_count' },
      'remove',
    );
    const refusal = await h.discord.waitFor(() => h.discord.interaction(denied.id).responses[0]);
    expect(refusal).toMatchObject({
      type: 4,
      data: { flags: 64, content: expect.stringMatching(/architect/) },
    });
    expect(h.runtime.tools.registry.get('word_count')).toBeDefined();

    const removed = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'tools',
      { name: 'word_count' },
      'remove',
    );
    const done = await h.discord.waitFor(() => h.discord.interaction(removed.id).edits[0]);
    expect(done.content).toMatch(/Removed `word_count`.*archived in `\.archive\/word_count-/);
    expect(h.runtime.tools.registry.get('word_count')).toBeUndefined();
    const forgeDir = h.runtime.config.forgeDir;
    expect(existsSync(join(forgeDir, 'word_count'))).toBe(false);
    expect(readdirSync(join(forgeDir, '.archive'))[0]).toMatch(/^word_count-/);
  });
});

describe('tools stay in the server they were forged in', () => {
  it('offers, lists and runs another server’s tool nowhere here; a forge here takes its own name', async () => {
    const h = await bot.start();
    await registerTool(h.runtime.tools.registry, {
      name: 'secret_tool',
      spec: 'the other server’s private plan',
      guildId: '999999999999999999',
    });
    await registerTool(h.runtime.tools.registry, {
      name: 'shared_tool',
      description: 'Counts words, for everyone.',
    });

    // /tools list and show: only what this server may see.
    const list = await h.discord.runCommand(h.userId, h.discord.channelId, 'tools', {}, 'list');
    const listed = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(list.id).edits[0])).embeds,
    );
    expect(listed).toContain('shared_tool');
    expect(listed).not.toContain('secret_tool');
    const show = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'tools',
      { name: 'secret_tool' },
      'show',
    );
    expect((await h.discord.waitFor(() => h.discord.interaction(show.id).edits[0])).content).toMatch(
      /no tool named/,
    );

    // A dialogue here is offered the shared tool only, and cannot call the other by name.
    h.ollama
      .script(ALFRED, ['plan', 'answer'])
      .script(BRICK, ['TOOL_CALL: secret_tool {"text": "a b"}', 'It is not mine to call.'])
      .script(ROBIN, ['ok\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'count words', { mentionBot: true });
    await h.discord.waitFor(() => h.discord.messages(message.id).find((m) => m.content === 'answer'), 10_000);
    const prompts = h.ollama
      .chats()
      .map((c) => c.messages.map((m) => m.content).join('\n'))
      .join('\n');
    expect(prompts).toContain('shared_tool');
    expect(prompts).not.toContain('secret_tool(');
    expect(prompts).toMatch(/there is no tool named "secret_tool"/);
    expect(prompts).not.toContain('private plan');

    // Forging a tool named like the other server's makes a new one, not its version 2.
    const ada = architect(h);
    h.ollama.script(BRICK, [
      designAnswer({ ...WORD_COUNT_DESIGN, name: 'secret_tool' }),
      codeAnswer(WORD_COUNT_FIXED),
    ]);
    const run = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'tools',
      { spec: 'count the words' },
      'forge',
    );
    await h.discord.waitFor(() => h.discord.interaction(run.id).edits[0]);
    expect(h.runtime.tools.registry.versions('secret_tool')).toEqual([1]);
    expect(h.runtime.tools.find('secret_tool_2', { guildId: h.discord.guildId })?.manifest.guildId).toBe(
      h.discord.guildId,
    );
  });
});

describe('a dialogue cannot take over what others made', () => {
  it('a member’s dialogue whose tool the forge names like the architect’s gets a name of its own', async () => {
    const h = await bot.start();
    const ada = await forgeAsArchitect(h);
    expect(h.runtime.tools.registry.get('word_count')?.manifest).toMatchObject({
      requestedBy: ada,
      forgedFor: ada,
    });

    // A member's dialogue: BRICK asks for another need, which the forge also names word_count.
    h.ollama
      .script(ALFRED, ['plan', 'Counted.'])
      .script(BRICK, [
        'A tool would be exact.\nTOOL_REQUIRED: tally tokens separated by whitespace, ignoring blanks',
        designAnswer(WORD_COUNT_DESIGN),
        codeAnswer(WORD_COUNT_FIXED),
        'Done by the tool.',
      ])
      .script(ROBIN, ['Sure.\nDISSONANCE: 0.5', 'Yes.\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'Tally "a b  c"', { mentionBot: true });
    await h.discord.waitFor(
      () => h.discord.messages(message.id).some((m) => m.content === 'Counted.') || undefined,
      15_000,
    );

    // The architect's tool is untouched: still its only version, still offered as it was.
    expect(h.runtime.tools.registry.versions('word_count')).toEqual([1]);
    expect(h.runtime.tools.registry.get('word_count')?.manifest.forgedFor).toBe(ada);
    expect(h.runtime.tools.registry.get('word_count_2')?.manifest).toMatchObject({
      version: 1,
      requestedBy: 'BRICK',
      forgedFor: h.userId,
      conversationId: message.id,
    });
    const card = cardIn(h.discord.messages(message.id));
    expect(card?.attachments.map((a) => a.filename)).toEqual(['word_count_2-v1.js']);
  });
});
