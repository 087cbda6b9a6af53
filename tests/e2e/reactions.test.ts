import { describe, expect, it } from 'vitest';
import type { BotHarness } from '../support/botHarness.ts';
import { architect, personaPosts, untilRecorded } from '../support/botSteps.ts';
import { judgeWith, judgings, readGolden, verdict } from '../support/curation.ts';
import { type EmulatedMessage, Permission } from '../support/discordEmulator.ts';
import { eventually } from '../support/eventually.ts';
import { scriptRound } from '../support/scripts.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

// The channel is public (@everyone may read it), so its dialogues are curated under the default
// CURATION_SCOPE.
const bot = useBotHarness({ discord: { everyonePermissions: Permission.ViewChannel } });

/** One dialogue through a mention, recorded in the interaction log; its thread. */
async function dialogueIn(h: BotHarness, tag: string) {
  h.scriptRound(tag);
  const message = h.discord.userSays(h.userId, h.discord.channelId, `task ${tag}`, { mentionBot: true });
  const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await untilRecorded(h, thread.id);
  return thread;
}

/** A persona's first post in a thread. */
const postOf = (h: BotHarness, threadId: string, persona: string): EmulatedMessage => {
  const post = personaPosts(h, threadId).find((m) => m.author.username === persona);
  if (!post) throw new Error(`no post of ${persona} in ${threadId}`);
  return post;
};

/** Waits until the bot has stored what people said of a persona's part of a thread's first run. */
const stored = (h: BotHarness, threadId: string, persona: string, says: { up?: number; down?: number }) =>
  eventually(async () => {
    const people = await h.runtime.reactions.peopleOn(threadId, 1, persona);
    return (people.up.length === (says.up ?? 0) && people.down.length === (says.down ?? 0)) || undefined;
  });

/** Runs `/curate run` as the architect; the reply's fields, by persona. */
async function curateRun(h: BotHarness, ada: string) {
  const ran = await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run');
  const reply = await h.discord.waitFor(() => h.discord.interaction(ran.id).edits[0]);
  const fields = (reply.embeds[0] as { fields?: Array<{ name: string; value: string }> }).fields ?? [];
  return Object.fromEntries(fields.map((f) => [f.name, f.value]));
}

describe('people’s reactions in curation', () => {
  it('keeps ROBIN’s turns of a dialogue out of the golden set after a member’s 👎, keeps BRICK’s, and notes a 👍 in the meta', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const bob = h.discord.createUser('bob');
    const thread = await dialogueIn(h, 'one');
    const other = await dialogueIn(h, 'two');
    h.discord.react(bob, postOf(h, thread.id, 'ROBIN').id, '👎');
    h.discord.react(h.userId, postOf(h, thread.id, 'BRICK').id, '👍');
    // A reaction with another emoji counts for nothing.
    h.discord.react(bob, postOf(h, thread.id, 'BRICK').id, '🎉');
    await stored(h, thread.id, 'ROBIN', { down: 1 });
    await stored(h, thread.id, 'BRICK', { up: 1 });

    judgeWith(h.ollama, () => verdict(5));
    const fields = await curateRun(h, ada);
    // The judge still judged ROBIN's part (its verdict is compared with people's), and kept it.
    expect(fields.ROBIN).toBe('judged 2 · kept 2 · rejected 0 · kept but 👎 by a member 1 → **+1 sample**');
    expect(fields.BRICK).toBe('judged 2 · kept 2 · rejected 0 → **+2 samples**');

    const dataDir = h.runtime.config.dataDir;
    expect(readGolden(dataDir, 'ROBIN.jsonl').map((s) => s.meta.conversation_id)).toEqual([other.id]);
    const brick = readGolden(dataDir, 'BRICK.jsonl');
    expect(brick.map((s) => [s.meta.conversation_id, s.meta.reactions])).toEqual([
      [thread.id, { up: [h.userId] }],
      [other.id, undefined],
    ]);
    expect(readGolden(dataDir, 'ALFRED.jsonl')).toHaveLength(4);
  });

  it('removes the samples already written when an architect reacts 👎, that persona’s only; a member’s 👎 then removes nothing', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const thread = await dialogueIn(h, 'kept');
    judgeWith(h.ollama, () => verdict(5));
    await curateRun(h, ada);
    const dataDir = h.runtime.config.dataDir;
    expect(readGolden(dataDir, 'ROBIN.jsonl')).toHaveLength(1);
    expect(readGolden(dataDir, 'ROBIN.anchor.jsonl')).toHaveLength(1);

    const bob = h.discord.createUser('bob');
    h.discord.react(bob, postOf(h, thread.id, 'BRICK').id, '👎');
    await stored(h, thread.id, 'BRICK', { down: 1 });
    expect(readGolden(dataDir, 'BRICK.jsonl')).toHaveLength(1);

    h.discord.react(ada, postOf(h, thread.id, 'ROBIN').id, '👎');
    await h.discord.waitFor(() => readGolden(dataDir, 'ROBIN.jsonl').length === 0 || undefined);
    expect(readGolden(dataDir, 'ROBIN.anchor.jsonl')).toEqual([]);
    expect(readGolden(dataDir, 'BRICK.jsonl')).toHaveLength(1);
    expect(readGolden(dataDir, 'ALFRED.jsonl')).toHaveLength(2);
    expect((await h.runtime.curation.sizes()).find((s) => s.persona === 'ROBIN')).toMatchObject({
      samples: 0,
      anchor: 0,
    });
    // Nothing was judged again.
    expect(judgings(h.ollama)).toHaveLength(3);

    // Forgetting the thread forgets its posts and the reactions to them.
    const forgot = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'memory',
      { thread: thread.id },
      'forget',
    );
    await h.discord.waitFor(() => h.discord.interaction(forgot.id).edits[0]);
    expect(await h.runtime.reactions.postOf(postOf(h, thread.id, 'ROBIN').id)).toBeUndefined();
    expect(await h.runtime.reactions.reactedTurns()).toEqual([]);
  });

  it('removes at the next run the samples of an architect’s 👎 that no process could remove when it came', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const thread = await dialogueIn(h, 'later');
    judgeWith(h.ollama, () => verdict(5));
    await curateRun(h, ada);
    const dataDir = h.runtime.config.dataDir;
    expect(readGolden(dataDir, 'BRICK.jsonl')).toHaveLength(1);
    // Stored as a bot does while `npm run curate` holds the sets: the veto waits for whoever curates next.
    await h.runtime.reactions.react({
      messageId: postOf(h, thread.id, 'BRICK').id,
      userId: ada,
      vote: 'down',
      architect: true,
      at: Date.now(),
    });
    expect(readGolden(dataDir, 'BRICK.jsonl')).toHaveLength(1);
    await curateRun(h, ada);
    expect(readGolden(dataDir, 'BRICK.jsonl')).toEqual([]);
    expect(readGolden(dataDir, 'ROBIN.jsonl')).toHaveLength(1);
    expect(await h.runtime.reactions.pendingVetoes()).toEqual([]);
  });

  it('counts every message of a streamed turn split in two as that turn', async () => {
    const h = await bot.start({ env: { STREAM_TURNS: 'true' }, compose: { stream: { editIntervalMs: 50 } } });
    const ada = architect(h);
    const long = `${'A gentle objection, at length. '.repeat(90)}\nDISSONANCE: 0.2`;
    scriptRound(h.ollama, { plan: 'plan', thesis: 'thesis', antithesis: long, answer: 'answer' });
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'task long', { mentionBot: true });
    await untilRecorded(h, message.id);
    const robin = personaPosts(h, message.id).filter((m) => m.author.username === 'ROBIN');
    expect(robin).toHaveLength(2);
    h.discord.react(h.discord.createUser('bob'), robin[1]?.id ?? '', '👎');
    await stored(h, message.id, 'ROBIN', { down: 1 });
    expect(await h.runtime.reactions.postOf(robin[0]?.id ?? '')).toMatchObject({
      persona: 'ROBIN',
      run: 1,
      turn: 3,
    });

    judgeWith(h.ollama, () => verdict(5));
    expect((await curateRun(h, ada)).ROBIN).toBe(
      'judged 1 · kept 1 · rejected 0 · kept but 👎 by a member 1 → **+0 samples**',
    );
  });
});

describe('/curate show: the judge against people’s reactions', () => {
  it('reports the share of reacted parts where the judge and people agree, with the counts and kappa', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const [bob, cleo] = [h.discord.createUser('bob'), h.discord.createUser('cleo')];
    const first = await dialogueIn(h, 'first');
    const second = await dialogueIn(h, 'second');
    // The judge keeps ALFRED's and BRICK's parts and refuses ROBIN's.
    judgeWith(h.ollama, (persona) => verdict(persona === 'ROBIN' ? 2 : 5));
    h.discord.react(bob, postOf(h, first.id, 'BRICK').id, '👍'); // kept, 👍: agree
    h.discord.react(bob, postOf(h, first.id, 'ROBIN').id, '👎'); // refused, 👎: agree
    h.discord.react(cleo, postOf(h, second.id, 'BRICK').id, '👎'); // kept, 👎: disagree
    h.discord.react(bob, postOf(h, second.id, 'BRICK').id, '👍'); // one 👎 makes it 👎
    h.discord.react(cleo, postOf(h, second.id, 'ROBIN').id, '👍'); // refused, 👍: disagree
    h.discord.react(cleo, postOf(h, second.id, 'ALFRED').id, '👍'); // kept, 👍: agree
    await stored(h, second.id, 'ALFRED', { up: 1 });
    await stored(h, second.id, 'BRICK', { up: 1, down: 1 });
    await curateRun(h, ada);
    // A reacted part the judge has not seen yet.
    const third = await dialogueIn(h, 'third');
    h.discord.react(bob, postOf(h, third.id, 'ALFRED').id, '👍');
    await stored(h, third.id, 'ALFRED', { up: 1 });

    const show = await h.discord.runCommand(ada, h.discord.channelId, 'curate', { persona: 'BRICK' }, 'show');
    const shown = await h.discord.waitFor(() => h.discord.interaction(show.id).edits[0]);
    const fields = (shown.embeds[0] as { fields: Array<{ name: string; value: string }> }).fields;
    const people = fields.find((f) => f.name === 'The judge and people’s 👍 / 👎');
    // BRICK: kept both, people 👍 then 👎: p_o 1/2, p_e 1/2. All: 3 of 5, p_o 0.6, p_e 0.52.
    expect(people?.value).toBe(
      [
        'BRICK: **agree on 1 of 2** reacted parts (50%), κ 0.00',
        '-# kept & 👍 1 · refused & 👎 0 · kept & 👎 1 · refused & 👍 0',
        'All personas: **agree on 3 of 5** reacted parts (60%), κ 0.17 (1 more reacted part not judged yet)',
        '-# kept & 👍 2 · refused & 👎 1 · kept & 👎 1 · refused & 👍 1',
      ].join('\n'),
    );

    // ROBIN has no set (the judge refused both parts); the figures come all the same.
    const robin = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'curate',
      { persona: 'ROBIN' },
      'show',
    );
    const said = (await h.discord.waitFor(() => h.discord.interaction(robin.id).edits[0])).content;
    expect(said).toContain('ROBIN has no golden samples yet');
    expect(said).toContain('ROBIN: **agree on 1 of 2** reacted parts (50%), κ 0.00');
  });
});
