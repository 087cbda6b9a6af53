import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { mentionAndWait, personaPosts } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED } = TEST_MODELS;
const bot = useBotHarness();

describe('/memory', () => {
  it('finds an earlier dialogue with its similarity, date and thread link', async () => {
    const h = await bot.start();
    h.scriptRound('france');
    const thread = await mentionAndWait(h, 'What is the capital of France?');
    // The run is recorded and embedded just after its last post.
    await h.discord.waitFor(async () => {
      const stats = await h.runtime.memory.stats();
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
    const h = await bot.start();
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
    expect(await h.runtime.memory.records(thread.id)).toHaveLength(1);

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
    expect(await h.runtime.memory.records(thread.id)).toEqual([]);
    expect(await h.runtime.memory.recall('capital of France', { floor: 0 })).toEqual([]);
    expect(await h.runtime.dialogue.exists(thread.id)).toBe(false);
  });
});

describe('memory never crosses channel permissions', () => {
  it('recalls and finds a dialogue only for those who can read the channel it was held in', async () => {
    const h = await bot.start({ env: { MEMORY_SIMILARITY_FLOOR: '0', MEMORY_RECALL_K: '5' } });
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
    await h.discord.waitFor(async () => ((await h.runtime.memory.stats()).pending === 0 ? true : undefined));

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
