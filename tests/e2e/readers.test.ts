import { describe, expect, it } from 'vitest';
import { scriptDissonantRound } from '../support/amendmentScripts.ts';
import type { BotHarness } from '../support/botHarness.ts';
import { personaPosts, untilRecorded } from '../support/botSteps.ts';
import { type EmulatedMessage, Permission } from '../support/discordEmulator.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { codeAnswer, designAnswer, WORD_COUNT_DESIGN, WORD_COUNT_FIXED } from '../support/scripts.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

/**
 * Who may read a dialogue is decided per member and per place, by Discord's own rules: a private
 * thread is its own place, read only by its members; a member's roles count together, overwrites
 * and all. Recall, `/memory search`, the tool lists, the log channel's tool cards and the
 * motivator's reflections follow the same rule.
 */

const { ALFRED, BRICK } = TEST_MODELS;
const VIEW = Permission.ViewChannel;
// @everyone reads the server's channels unless a channel says otherwise, as in most servers.
const bot = useBotHarness({
  discord: { everyonePermissions: VIEW },
  env: { MEMORY_SIMILARITY_FLOOR: '0', MEMORY_RECALL_K: '5' },
});

/** What `/memory search` answered `userId`, as one string. */
async function searchAs(h: BotHarness, userId: string, query: string): Promise<string> {
  const run = await h.discord.runCommand(userId, h.discord.channelId, 'memory', { query }, 'search');
  return JSON.stringify(await h.discord.waitFor(() => h.discord.interaction(run.id).edits[0]));
}

/** `userId` mentions the bot with `task` in `channelId`; resolves with the thread once the run is recorded and embedded. */
async function dialogueIn(h: BotHarness, userId: string, channelId: string, task: string, tag: string) {
  h.scriptRound(tag);
  const message = h.discord.userSays(userId, channelId, task, { mentionBot: true });
  await h.discord.waitFor(() => personaPosts(h, message.id).length >= 4 || undefined, 10_000);
  await untilRecorded(h, message.id, { embedded: true });
  return message.id;
}

/** What ALFRED was asked to plan last: the prompt that quotes what memory recalled. */
const lastPlan = (h: BotHarness) => h.ollama.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';

describe('a private thread is its own place', () => {
  it('files its dialogue under the thread: found and recalled for its members only', async () => {
    const h = await bot.start();
    const { discord } = h;
    const bob = discord.createUser('bob');
    // Alice's private thread in the public channel, with the bot added.
    const whisper = discord.userStartsThread(h.userId, discord.channelId, 'just us', {
      private: true,
      members: [discord.botUserId],
    });
    h.scriptRound('whisper');
    discord.userSays(h.userId, whisper, 'The launch code is swordfish. Keep it safe.', { mentionBot: true });
    await untilRecorded(h, whisper, { embedded: true });
    expect((await h.runtime.memory.records(whisper))[0]).toMatchObject({
      channelId: whisper,
      visibility: 'private-thread',
    });

    // Bob reads the public channel, not the thread: his search finds nothing of it, nor does his dialogue recall it.
    expect(await searchAs(h, bob, 'launch code')).not.toContain('swordfish');
    await dialogueIn(h, bob, discord.channelId, 'What is the launch code?', 'public');
    expect(lastPlan(h)).toContain('What is the launch code?');
    expect(lastPlan(h)).not.toContain('swordfish');

    // Alice, and Carol once added to the thread, find it.
    expect(await searchAs(h, h.userId, 'launch code')).toContain('swordfish');
    const carol = discord.createUser('carol');
    expect(await searchAs(h, carol, 'launch code')).not.toContain('swordfish');
    discord.setThreadMember(whisper, carol);
    expect(await searchAs(h, carol, 'launch code')).toContain('swordfish');
  });
});

describe('a member’s roles count together', () => {
  it('recalls nothing of #board into #staff-room, where a member with staff and restricted reads only the latter', async () => {
    const h = await bot.start();
    const { discord } = h;
    // Staff may view every channel; #staff-room is theirs alone; #board keeps the restricted out.
    const staff = discord.createRole('staff', { permissions: VIEW });
    const restricted = discord.createRole('restricted');
    const staffRoom = discord.createChannel('staff-room', {
      overwrites: [
        { id: discord.guildId, deny: VIEW },
        { id: staff, allow: VIEW },
      ],
    });
    const board = discord.createChannel('board', { overwrites: [{ id: restricted, deny: VIEW }] });
    // The bot reads #staff-room as staff do, through the role.
    discord.addRole(discord.botUserId, staff);
    const dana = discord.createUser('dana', { roles: [staff, restricted] });
    expect(discord.channelPermissions(dana, staffRoom) & VIEW).toBe(VIEW);
    expect(discord.channelPermissions(dana, board) & VIEW).toBe(0n);

    await dialogueIn(h, h.userId, board, 'The board will sell the company to Initech.', 'board');

    // Everyone in #staff-room holds staff, who alone could read #board; Dana's roles together cannot.
    await dialogueIn(h, dana, staffRoom, 'What will the board decide about the company?', 'staff');
    expect(lastPlan(h)).toContain('What will the board decide');
    expect(lastPlan(h)).not.toContain('Initech');
    expect(await searchAs(h, dana, 'sell the company')).not.toContain('Initech');

    // In #board itself, it is recalled.
    await dialogueIn(h, h.userId, board, 'Who buys the company?', 'again');
    expect(lastPlan(h)).toContain('Initech');
  });
});

const cardIn = (messages: EmulatedMessage[]) =>
  messages.find((m) => JSON.stringify(m.embeds).includes('New tool forged'));

describe('a tool forged in a private channel', () => {
  it('is listed, shown and offered only to its readers; the log channel gets no card', async () => {
    const h = await bot.start({
      env: { FORGE_OPEN_TO_ALL: 'true' },
      channels: { LOG_CHANNEL_ID: 'bot-log' },
    });
    const { discord } = h;
    const log = h.channels.LOG_CHANNEL_ID ?? '';
    const bob = discord.createUser('bob');
    // #lab: Alice and the bot only.
    const lab = discord.createChannel('lab', {
      overwrites: [
        { id: discord.guildId, deny: VIEW },
        { id: h.userId, allow: VIEW },
        { id: discord.botUserId, allow: VIEW },
      ],
    });
    h.ollama.script(BRICK, [designAnswer(WORD_COUNT_DESIGN), codeAnswer(WORD_COUNT_FIXED)]);
    const forged = await discord.runCommand(
      h.userId,
      lab,
      'tools',
      { spec: 'count the words in a text' },
      'forge',
    );
    expect(
      JSON.stringify((await discord.waitFor(() => discord.interaction(forged.id).edits[0])).embeds),
    ).toContain('word_count');
    expect(h.runtime.tools.registry.get('word_count')?.manifest.channelId).toBe(lab);

    const listFor = async (userId: string) => {
      const run = await discord.runCommand(userId, discord.channelId, 'tools', {}, 'list');
      return JSON.stringify(await discord.waitFor(() => discord.interaction(run.id).edits[0]));
    };
    expect(await listFor(bob)).not.toContain('word_count');
    expect(await listFor(h.userId)).toContain('word_count');
    const show = await discord.runCommand(bob, discord.channelId, 'tools', { name: 'word_count' }, 'show');
    expect((await discord.waitFor(() => discord.interaction(show.id).edits[0])).content).toMatch(
      /no tool named `word_count`/,
    );
    const typed = await discord.runAutocomplete(
      bob,
      discord.channelId,
      'tools',
      { name: 'wo' },
      'name',
      'show',
    );
    const choices = await discord.waitFor(() => discord.interaction(typed.id).responses[0]);
    expect(JSON.stringify(choices)).not.toContain('word_count');

    // Bob's dialogue in the public channel is not offered it.
    await dialogueIn(h, bob, discord.channelId, 'How many words in "a b c"?', 'count');
    const prompts = JSON.stringify(h.ollama.chats().slice(-4));
    expect(prompts).not.toContain('word_count');
    // Alice's, in #lab, is: the tool is offered where its readers are, so its absence above is the rule's.
    await dialogueIn(h, h.userId, lab, 'How many words in "d e f"?', 'lab count');
    expect(JSON.stringify(h.ollama.chats().slice(-4))).toContain('word_count');

    // A tool forged in the public channel gets its card in the log channel, as before.
    h.ollama.script(BRICK, [
      designAnswer({ ...WORD_COUNT_DESIGN, name: 'open_count' }),
      codeAnswer(WORD_COUNT_FIXED),
    ]);
    await discord.runCommand(
      h.userId,
      discord.channelId,
      'tools',
      { spec: 'count the words, openly' },
      'forge',
    );
    const card = await discord.waitFor(() => cardIn(discord.messages(log)), 10_000);
    expect(JSON.stringify(card.embeds)).toContain('open_count');
    expect(JSON.stringify(discord.messages(log))).not.toContain('word_count');
  });
});

describe('the motivator', () => {
  it('never reflects on a private thread’s dialogue in a channel its readers share', async () => {
    const h = await bot.start({
      env: {
        AUTONOMY_CRON: '* * * * * *',
        AUTONOMY_IDLE_MINUTES: '0',
        AUTONOMY_MAX_PER_DAY: '1',
        MAX_TURNS: '1',
        MEMORY_RECALL_K: '0',
      },
      channels: { AUTONOMY_CHANNEL_ID: 'reflections' },
    });
    const { discord } = h;
    const whisper = discord.userStartsThread(h.userId, discord.channelId, 'just us', {
      private: true,
      members: [discord.botUserId],
    });
    // The private dialogue is the more dissonant; the reflection's round comes last.
    scriptDissonantRound(h.ollama, 'whisper', 0.9);
    scriptDissonantRound(h.ollama, 'open', 0.5);
    scriptDissonantRound(h.ollama, 'reflect', 0.2);
    discord.userSays(h.userId, whisper, 'task whisper', { mentionBot: true });
    await untilRecorded(h, whisper);
    const open = discord.userSays(h.userId, discord.channelId, 'task open', { mentionBot: true });
    await untilRecorded(h, open.id);

    const reflections = h.channels.AUTONOMY_CHANNEL_ID ?? '';
    const opener = await discord.waitFor(() => discord.messages(reflections)[0], 10_000);
    expect(opener.content).toMatch(/revisit a dialogue where they disagreed \(dissonance 0\.50\)/);
    await discord.waitFor(
      () => discord.messages(opener.id).some((m) => m.content === 'answer reflect') || undefined,
    );
    const plan = h.ollama.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';
    expect(plan).toContain('task open');
    expect(plan).not.toContain('task whisper');
  });
});
