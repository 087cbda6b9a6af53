import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import {
  amendedCodex,
  draftAnswer,
  NEW_PRINCIPLE,
  OLD_PRINCIPLE,
  scriptDissonantRound,
} from '../support/amendmentScripts.ts';
import type { BotHarness, BotHarnessOptions } from '../support/botHarness.ts';
import type { EmulatedMessage } from '../support/discordEmulator.ts';
import { eventually } from '../support/eventually.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
// One member holds every dialogue here: the trigger's member rule is proven in its unit test.
const ENV = {
  MAX_TURNS: '1',
  HIGH_DISSONANCE: '0.8',
  AMENDMENT_MIN_EVENTS: '3',
  AMENDMENT_MIN_MEMBERS: '1',
  MEMORY_RECALL_K: '0',
};

const bot = useBotHarness({ env: ENV, channels: { GOVERNANCE_CHANNEL_ID: 'governance' } });
const start = (options: BotHarnessOptions = {}) => bot.start(options);

const governance = (h: BotHarness) => h.channels.GOVERNANCE_CHANNEL_ID ?? '';
interface Button {
  custom_id: string;
  disabled?: boolean;
}
const buttons = (message: EmulatedMessage | undefined): Button[] =>
  (message?.components as Array<{ components: Button[] }> | undefined)?.[0]?.components ?? [];
const proposalCard = (h: BotHarness, id = 'p1') =>
  h.discord
    .messages(governance(h))
    .find(
      (m) =>
        JSON.stringify(m.embeds).includes(`amendment ${id}`) ||
        JSON.stringify(m.embeds).includes(`rollback ${id}`),
    );
/** The bot's reply to an interaction: its ephemeral follow-up or its (edited) first response. */
const answerTo = async (h: BotHarness, id: string) =>
  h.discord.waitFor(() => {
    const record = h.discord.interaction(id);
    return record.followups[0]?.content ?? record.edits.at(-1)?.content ?? record.responses[0]?.data?.content;
  });

/** A mention whose dialogue ends with ROBIN's dissonance at `dissonance`; waits for its last post. */
async function dialogue(h: BotHarness, tag: string, dissonance = 0.9) {
  scriptDissonantRound(h.ollama, tag, dissonance);
  const message = h.discord.userSays(h.userId, h.discord.channelId, `task ${tag}`, { mentionBot: true });
  await h.discord.waitFor(
    () => h.discord.messages(message.id).some((m) => m.content === `answer ${tag}`) || undefined,
    10_000,
  );
}

/** Three dissonant dialogues; ALFRED answers the draft with `drafts`. Waits for the card (or a notice). */
async function threeDissonant(h: BotHarness, drafts: string[]) {
  await dialogue(h, 'a');
  await dialogue(h, 'b');
  scriptDissonantRound(h.ollama, 'c');
  h.ollama.script(ALFRED, drafts);
  h.ollama.script(BRICK, ['Review: logically sound.']).script(ROBIN, ['Review: gentle enough.']);
  h.discord.userSays(h.userId, h.discord.channelId, 'task c', { mentionBot: true });
  return h.discord.waitFor(() => h.discord.messages(governance(h))[0], 10_000);
}

function architects(h: BotHarness) {
  const role = h.discord.createRole('architect');
  return {
    ada: h.discord.createUser('ada', { roles: [role] }),
    bob: h.discord.createUser('bob', { roles: [role] }),
  };
}

describe('codex amendments in Discord', () => {
  it('proposes after persistent dissonance, gates Approve behind the history, and ratifies for the architect', async () => {
    const h = await start();
    const { ada, bob } = architects(h);
    const before = readFileSync(h.runtime.config.codexPath, 'utf8');

    const card = await threeDissonant(h, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);

    // The card: embed, diff attached, three buttons with Approve disabled.
    const embed = JSON.stringify(card.embeds);
    expect(embed).toContain('Codex amendment p1: ROBIN weighs costs too');
    expect(embed).toContain(NEW_PRINCIPLE);
    expect(embed).toContain('3 dissonant dialogues');
    expect(embed).toContain('1 → 2');
    expect(card.author.id).toBe(h.bot.client.user?.id);
    expect(card.attachments.map((a) => a.filename)).toEqual(['codex-p1.diff']);
    const diff = await (await fetch(card.attachments[0]?.url ?? '')).text();
    expect(diff).toMatch(/^-.*Disagree kindly, and say how much you disagree/m);
    expect(buttons(card).map((b) => [b.custom_id, b.disabled ?? false])).toEqual([
      ['codex:history:p1', false],
      ['codex:approve:p1', true],
      ['codex:reject:p1', false],
    ]);
    await expect(h.discord.clickButton(ada, card.id, 'codex:approve:p1')).rejects.toThrow(/disabled/);

    // /status says why autonomy is paused.
    const status = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const statusEdit = await h.discord.waitFor(() => h.discord.interaction(status.id).edits[0]);
    expect(JSON.stringify(statusEdit.embeds)).toMatch(/Paused: proposal p1/);

    // A member without the role: refused, nothing changes.
    const stranger = await h.discord.clickButton(h.userId, card.id, 'codex:history:p1');
    expect(await answerTo(h, stranger.id)).toMatch(/Only members with the \*\*architect\*\* role.*unchanged/);
    expect(h.discord.threads().some((t) => t.id === card.id)).toBe(false);

    // Ada opens the history: a thread with the whole story; Approve is enabled.
    const open = await h.discord.clickButton(ada, card.id, 'codex:history:p1');
    expect(await answerTo(h, open.id)).toMatch(/history is in <#\d+>/);
    const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === card.id));
    const history = h.discord
      .messages(thread.id)
      .map((m) => m.content)
      .join('\n');
    expect(history).toContain('Legislative history of proposal p1');
    expect(history).toContain('Task: task a');
    expect(history).toContain('antithesis c');
    expect(history).toMatch(/BRICK's review\*\*\nReview: logically sound\./);
    expect(history).toMatch(/```diff[\s\S]*weigh the cost in money/);
    await h.discord.waitFor(() => (buttons(h.discord.message(card.id))[1]?.disabled ? undefined : true));

    // People talk in the history thread: no dialogue starts in the governance area, mention or not.
    const chats = h.ollama.chats().length;
    h.discord.userSays(ada, thread.id, 'I am not sure about this one.');
    h.discord.userSays(ada, thread.id, 'What do you think?', { mentionBot: true });
    // Two round trips through the bot: a dialogue, had one started, would have asked the model.
    await h.settle();
    await h.settle();
    expect(h.ollama.chats()).toHaveLength(chats);

    // The thread archived meanwhile: opening again reopens it, without repeating the history.
    const posted = h.discord.messages(thread.id).length;
    h.discord.archiveThread(thread.id);
    const reopen = await h.discord.clickButton(ada, card.id, 'codex:history:p1');
    expect(await answerTo(h, reopen.id)).toMatch(/history is in/);
    expect(h.discord.threads().find((t) => t.id === thread.id)?.archived).toBe(false);
    expect(h.discord.messages(thread.id)).toHaveLength(posted);

    // Bob has the role but has not opened the history: refused.
    const early = await h.discord.clickButton(bob, card.id, 'codex:approve:p1');
    expect(await answerTo(h, early.id)).toMatch(/Open the history first/);
    expect(readFileSync(h.runtime.config.codexPath, 'utf8')).toBe(before);

    // Ada presses Approve twice at once: one ratification.
    const [first, second] = await Promise.all([
      h.discord.clickButton(ada, card.id, 'codex:approve:p1'),
      h.discord.clickButton(ada, card.id, 'codex:approve:p1'),
    ]);
    const answers = [await answerTo(h, first.id), await answerTo(h, second.id)].sort();
    expect(answers).toEqual(
      [
        expect.stringMatching(/already approved/),
        expect.stringMatching(/Ratified: the codex is now version 2/),
      ].sort(),
    );
    const after = readFileSync(h.runtime.config.codexPath, 'utf8');
    expect(after).toContain(NEW_PRINCIPLE);
    expect(after).toMatch(/^version = 2$/m);
    expect(readFileSync(join(h.runtime.config.dataDir, 'codex-history', 'codex-v1.toml'), 'utf8')).toBe(
      before,
    );
    const decided = h.discord.message(card.id);
    expect(JSON.stringify(decided?.embeds)).toContain(`Approved by <@${ada}>`);
    expect(buttons(decided)).toEqual([]);
    // Edits kept the diff attached.
    expect(decided?.attachments.map((a) => a.filename)).toEqual(['codex-p1.diff']);

    // The next dialogue speaks under the new principle.
    await dialogue(h, 'next', 0.1);
    expect(h.ollama.chats(ROBIN).at(-1)?.messages[0]?.content).toContain(NEW_PRINCIPLE);

    // Rollback: itself a proposal through the same gate.
    const rollback = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'codex',
      { version: 1 },
      'rollback',
    );
    expect(await answerTo(h, rollback.id)).toMatch(/Proposal p2 awaits a decision in <#\d+>/);
    const rollbackCard = await h.discord.waitFor(() => proposalCard(h, 'p2'));
    // Both architects open the history at once: one thread, the history posted once, both recorded.
    const opens = await Promise.all([
      h.discord.clickButton(ada, rollbackCard.id, 'codex:history:p2'),
      h.discord.clickButton(bob, rollbackCard.id, 'codex:history:p2'),
    ]);
    for (const press of opens) expect(await answerTo(h, press.id)).toMatch(/history is in/);
    expect(h.discord.threads().filter((t) => t.id === rollbackCard.id)).toHaveLength(1);
    expect(
      h.discord
        .messages(rollbackCard.id)
        .filter((m) => m.content.includes('Legislative history of proposal p2')),
    ).toHaveLength(1);
    expect((await h.runtime.amendments.get('p2'))?.openedBy.sort()).toEqual([ada, bob].sort());
    await h.discord.waitFor(() =>
      buttons(h.discord.message(rollbackCard.id))[1]?.disabled ? undefined : true,
    );
    const restore = await h.discord.clickButton(ada, rollbackCard.id, 'codex:approve:p2');
    expect(await answerTo(h, restore.id)).toMatch(/version 3/);
    expect(readFileSync(h.runtime.config.codexPath, 'utf8')).toContain(OLD_PRINCIPLE);

    // /codex history: every version and who approved which proposal.
    const historyCommand = await h.discord.runCommand(h.userId, h.discord.channelId, 'codex', {}, 'history');
    const listed = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(historyCommand.id).edits[0])).embeds,
    );
    expect(listed).toMatch(/v3.*rollback p2.*approved by <@\d+>/);
    expect(listed).toMatch(/v2.*amendment p1 “ROBIN weighs costs too”, approved by <@\d+>/);
    expect(listed).toMatch(/v1.*as first found/);
  });

  it('rejects for the architect: recorded with who and when, the card updated, autonomy resumed', async () => {
    const h = await start();
    const { ada } = architects(h);
    const card = await threeDissonant(h, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
    const reject = await h.discord.clickButton(ada, card.id, 'codex:reject:p1');
    expect(await answerTo(h, reject.id)).toMatch(/Rejected\. Autonomy resumes/);
    expect(JSON.stringify(h.discord.message(card.id)?.embeds)).toContain(`Rejected by <@${ada}>`);
    expect(buttons(h.discord.message(card.id))).toEqual([]);
    expect(await h.runtime.amendments.pausedReason()).toBeNull();
    expect(readFileSync(h.runtime.config.codexPath, 'utf8')).toContain(OLD_PRINCIPLE);
  });

  it('keeps working after a restart with a pending proposal, and marks it stale when the codex changed', async () => {
    const h = await start();
    const { ada } = architects(h);
    const first = await threeDissonant(h, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
    // Someone deletes the card; the bot restarts and posts it again (the proposal lives in the store).
    const channel = await h.bot.client.channels.fetch(governance(h));
    if (channel?.isTextBased()) await (await channel.messages.fetch(first.id)).delete();
    await h.stopBot();
    await h.restartBot();
    const card = await h.discord.waitFor(() => proposalCard(h));
    expect(card.id).not.toBe(first.id);
    expect(card.attachments.map((a) => a.filename)).toEqual(['codex-p1.diff']);

    const open = await h.discord.clickButton(ada, card.id, 'codex:history:p1');
    expect(await answerTo(h, open.id)).toMatch(/history is in/);
    // Someone edits codex.toml by hand meanwhile.
    const path = h.runtime.config.codexPath;
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n# a hand edit\n`);
    await h.discord.waitFor(() => (buttons(h.discord.message(card.id))[1]?.disabled ? undefined : true));
    const approve = await h.discord.clickButton(ada, card.id, 'codex:approve:p1');
    expect(await answerTo(h, approve.id)).toMatch(/stale: the codex changed/);
    expect(JSON.stringify(h.discord.message(card.id)?.embeds)).toContain('Stale');
    expect(readFileSync(path, 'utf8')).toContain('# a hand edit');
    expect(existsSync(join(h.runtime.config.dataDir, 'codex-history', 'codex-v1.toml'))).toBe(false);
  });

  it('never offers a draft that touches the core or does not parse: the attempt is abandoned with a notice', async () => {
    const h = await start();
    const good = amendedCodex(h.runtime.config.codexPath);
    const notice = await threeDissonant(h, [
      draftAnswer(good.replace('Cause no harm', 'Cause little harm')),
      draftAnswer(good.replace('[personas.ROBIN]', '[personas.ROBIN')),
      'I would rather not.',
    ]);
    expect(notice.content).toMatch(/amendment \(p1\) was abandoned: ALFRED's drafts were refused 3 times/);
    expect(notice.embeds).toEqual([]);
    expect(await h.runtime.amendments.pausedReason()).toBeNull();
  });

  it('/codex show attaches the codex; /codex propose is the architect’s', async () => {
    const h = await start();
    const { ada } = architects(h);
    const show = await h.discord.runCommand(h.userId, h.discord.channelId, 'codex', {}, 'show');
    const shown = await h.discord.waitFor(() => h.discord.interaction(show.id).edits[0]);
    expect(JSON.stringify(shown.embeds)).toContain('codex, version 1');
    const upload = h.discord.requests.find(
      (r) => r.method === 'PATCH' && r.path.includes(h.discord.interaction(show.id).token),
    );
    expect(upload?.files?.map((f) => f.filename)).toEqual(['codex-v1.toml']);

    const refused = await h.discord.runCommand(h.userId, h.discord.channelId, 'codex', {}, 'propose');
    expect(await answerTo(h, refused.id)).toMatch(/architect/);

    await dialogue(h, 'lonely', 0.5);
    h.ollama.script(ALFRED, [draftAnswer(amendedCodex(h.runtime.config.codexPath), 'Asked for')]);
    const propose = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'codex',
      { note: 'ROBIN ignores money' },
      'propose',
    );
    await h.discord.waitFor(
      () => (h.discord.interaction(propose.id).edits.length >= 2 ? true : undefined),
      10_000,
    );
    expect(h.discord.interaction(propose.id).edits.at(-1).content).toMatch(/Proposal p1 awaits a decision/);
    expect(h.ollama.chats(ALFRED).at(-1)?.messages[1]?.content).toContain(
      "The Architect's note: ROBIN ignores money",
    );
    expect(JSON.stringify(proposalCard(h)?.embeds)).toContain(`<@${ada}>`);
  });

  it('the motivator reflects on the most dissonant dialogue when idle, once a day, and waits while a proposal is pending', async () => {
    const h = await start({
      env: { AUTONOMY_CRON: '* * * * * *', AUTONOMY_IDLE_MINUTES: '0', AUTONOMY_MAX_PER_DAY: '1' },
      channels: { AUTONOMY_CHANNEL_ID: 'reflections' },
    });
    // The reflection's round is scripted after the seed's: the seed consumes its own first.
    scriptDissonantRound(h.ollama, 'seed', 0.7);
    scriptDissonantRound(h.ollama, 'reflect', 0.2);
    const seed = h.discord.userSays(h.userId, h.discord.channelId, 'task seed', { mentionBot: true });
    await h.discord.waitFor(
      () => h.discord.messages(seed.id).some((m) => m.content === 'answer seed') || undefined,
    );

    const reflections = h.channels.AUTONOMY_CHANNEL_ID ?? '';
    const opener = await h.discord.waitFor(() => h.discord.messages(reflections)[0], 10_000);
    expect(opener.content).toMatch(/revisit a dialogue where they disagreed \(dissonance 0\.70\)/);
    const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === opener.id));
    await h.discord.waitFor(
      () => h.discord.messages(thread.id).some((m) => m.content === 'answer reflect') || undefined,
      10_000,
    );
    const plan = h.ollama.chats(ALFRED)[2]?.messages[1]?.content ?? '';
    expect(plan).toMatch(/Reflection: .* we stayed far apart \(final dissonance 0\.70\)/);
    expect(plan).toContain('task seed');

    // Once a day: the next ticks say so.
    await h.discord.waitFor(() =>
      h.runtime.scheduler
        .status()
        .find((job) => job.name === 'motivator')
        ?.lastRun?.message.includes('daily limit reached (1)')
        ? true
        : undefined,
    );
    expect(h.discord.messages(reflections)).toHaveLength(1);

    // A pending proposal pauses it.
    h.ollama.script(ALFRED, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
    await h.runtime.amendments.propose(h.userId, 'look at ROBIN');
    const paused = await h.discord.waitFor(() => {
      const run = h.runtime.scheduler.status().find((job) => job.name === 'motivator')?.lastRun;
      return run?.outcome === 'skipped' && /autonomy is paused: proposal p1/.test(run.message)
        ? run
        : undefined;
    });
    expect(paused).toBeDefined();

    // /status shows the job, why autonomy is paused, and the dissonance trend as an image.
    const status = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const edit = await h.discord.waitFor(() => h.discord.interaction(status.id).edits[0]);
    const text = JSON.stringify(edit.embeds);
    expect(text).toMatch(/Paused: proposal p1/);
    expect(text).toMatch(/`motivator` \(`\* \* \* \* \* \*`\) · last skipped/);
    expect(edit.embeds[0].image.url).toBe('attachment://dissonance.png');
    const upload = h.discord.requests.find(
      (r) => r.method === 'PATCH' && r.path.includes(h.discord.interaction(status.id).token),
    );
    expect(upload?.files?.map((f) => [f.filename, f.contentType])).toEqual([['dissonance.png', 'image/png']]);
  });
});

describe('governance fails closed', () => {
  it('refuses every privileged action while no home server is known, and says why', async () => {
    // No DISCORD_GUILD_ID, and a governance channel id that leads nowhere (mistyped, deleted).
    const h = await start({ env: { DISCORD_GUILD_ID: '', GOVERNANCE_CHANNEL_ID: '123456789012345678' } });
    const { ada } = architects(h);
    const propose = await h.discord.runCommand(ada, h.discord.channelId, 'codex', {}, 'propose');
    expect(await answerTo(h, propose.id)).toMatch(/Governance is off: .*DISCORD_GUILD_ID/);
    const forge = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'tools',
      { spec: 'Count the words.' },
      'forge',
    );
    expect(await answerTo(h, forge.id)).toMatch(/Governance is off/);
    const remove = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'tools',
      { name: 'anything' },
      'remove',
    );
    expect(await answerTo(h, remove.id)).toMatch(/Governance is off/);
    expect(h.ollama.chats()).toHaveLength(0);
  });

  it('withdraws a proposal that can reach nobody, so autonomy does not stay paused', async () => {
    const h = await start({ env: { GOVERNANCE_CHANNEL_ID: '' } });
    expect(h.runtime.config.governanceChannelId).toBeUndefined();
    await dialogue(h, 'a');
    await dialogue(h, 'b');
    scriptDissonantRound(h.ollama, 'c');
    h.ollama.script(ALFRED, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
    h.ollama.script(BRICK, ['Review.']).script(ROBIN, ['Review.']);
    h.discord.userSays(h.userId, h.discord.channelId, 'task c', { mentionBot: true });
    await eventually(
      async () => ((await h.runtime.amendments.get('p1'))?.state === 'abandoned' ? true : undefined),
      10_000,
    );
    expect((await h.runtime.amendments.get('p1'))?.reason).toMatch(
      /could not be posted: GOVERNANCE_CHANNEL_ID is not set/,
    );
    expect(await h.runtime.amendments.pausedReason()).toBeNull();
    // Its evidence counts as answered: the next dissonant dialogue does not draft again at once.
    await dialogue(h, 'd');
    expect(await h.runtime.amendments.active()).toBeUndefined();
  });
});

describe('a proposal’s evidence respects channel permissions', () => {
  const SECRET = 'the secret merger with Acme closes at the lake house in March';

  /** A dialogue by `who` in `channelId` that ends dissonant; waits for its answer. */
  async function dialogueIn(
    h: BotHarness,
    who: string,
    channelId: string,
    tag: string,
    task = `task ${tag}`,
  ) {
    scriptDissonantRound(h.ollama, tag);
    const message = h.discord.userSays(who, channelId, task, { mentionBot: true });
    await h.discord.waitFor(
      () => h.discord.messages(message.id).some((m) => m.content === `answer ${tag}`) || undefined,
      10_000,
    );
    return message;
  }

  /** #council, which only bob (of the members) may read. */
  function council(h: BotHarness, bob: string) {
    const id = h.discord.createChannel('council');
    h.discord.hideChannelFrom(id, h.discord.memberRoleId);
    h.discord.setChannelOverwrite(id, bob, { allow: PermissionFlagsBits.ViewChannel });
    return id;
  }

  /** Opens the history as `who` and waits until it is all posted; returns its text. */
  async function openHistory(h: BotHarness, who: string, cardId: string) {
    await h.discord.clickButton(who, cardId, 'codex:history:p1');
    const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === cardId));
    await h.discord.waitFor(
      () => h.discord.messages(thread.id).some((m) => m.content.includes('## The change')) || undefined,
    );
    return h.discord
      .messages(thread.id)
      .map((m) => m.content)
      .join('\n');
  }

  it('never quotes what its readers may not read: not to ALFRED, not on the card, not in the history or the reviews', async () => {
    const h = await start();
    const { ada, bob } = architects(h);
    await dialogueIn(h, bob, council(h, bob), 'a', `task a: ${SECRET}`);
    await dialogue(h, 'b');
    scriptDissonantRound(h.ollama, 'c');
    // ALFRED's first draft repeats the secret (as if he had guessed it); BRICK's review does too.
    const good = draftAnswer(amendedCodex(h.runtime.config.codexPath));
    h.ollama.script(ALFRED, [good.replace('RATIONALE: ', `RATIONALE: Remember “${SECRET}”. `), good]);
    h.ollama.script(BRICK, [`Review: ${SECRET}, so be careful.`]).script(ROBIN, ['Review.']);
    h.discord.userSays(h.userId, h.discord.channelId, 'task c', { mentionBot: true });
    const card = await h.discord.waitFor(() => proposalCard(h), 10_000);

    // ALFRED drafted from #council's dialogue by its date and dissonance alone.
    const drafting = h.ollama
      .chats(ALFRED)
      .map((c) => c.messages[1]?.content ?? '')
      .filter((content) => content.includes('You are drafting an amendment'));
    expect(drafting).toHaveLength(2);
    for (const prompt of drafting) {
      expect(prompt).not.toContain('lake house');
      expect(prompt).toContain('Task: task b');
      expect(prompt).toMatch(/Dialogue 1 of 3 — [^\n]* — dissonance 0\.90\n\(Held where the readers/);
    }
    const reviews = [...h.ollama.chats(BRICK), ...h.ollama.chats(ROBIN)]
      .map((c) => JSON.stringify(c.messages))
      .filter((r) => r.includes('Review this amendment'));
    expect(reviews).toHaveLength(2);
    for (const review of reviews) expect(review).not.toContain('lake house');

    // The card, its diff, the history: nothing of #council's words.
    const diff = await (await fetch(card.attachments[0]?.url ?? '')).text();
    expect(`${JSON.stringify(card.embeds)}${diff}`).not.toContain('lake house');
    const history = await openHistory(h, ada, card.id);
    expect(history).not.toContain('lake house');
    expect(history).toContain('Held in a channel that not everyone here can read');
    expect(history).toContain('Task: task b');
    expect(history).toContain("ALFRED's draft 1 was refused");
    expect(history).toContain("BRICK's review is withheld");
    expect(JSON.stringify(await h.runtime.amendments.get('p1'))).not.toContain('lake house');
  });

  it('decides what may be shown when it drafts: a channel opened since stays withheld, one closed since is hidden', async () => {
    const h = await start();
    const { ada, bob } = architects(h);
    const board = council(h, bob);
    const side = h.discord.createChannel('side');
    await dialogueIn(h, bob, board, 'a', `task a: ${SECRET}`);
    await dialogueIn(h, h.userId, side, 'b');
    scriptDissonantRound(h.ollama, 'c');
    h.ollama.script(ALFRED, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
    h.ollama.script(BRICK, ['Review.']).script(ROBIN, ['Review.']);
    h.discord.userSays(h.userId, h.discord.channelId, 'task c', { mentionBot: true });
    const card = await h.discord.waitFor(() => proposalCard(h), 10_000);
    const evidence = (await h.runtime.amendments.get('p1'))?.history.filter((e) => e.kind === 'evidence');
    expect(evidence?.map((e) => e.shown)).toEqual([false, true, true]);

    // Afterwards #council is opened to every member, and #side closed to them.
    h.discord.setChannelOverwrite(board, h.discord.memberRoleId, { allow: PermissionFlagsBits.ViewChannel });
    h.discord.hideChannelFrom(side, h.discord.memberRoleId);
    const access = h.bot.ports.access;
    await h.discord.waitFor(() =>
      access.sharedWith(governance(h)).includes(board) && !access.sharedWith(governance(h)).includes(side)
        ? true
        : undefined,
    );

    const history = await openHistory(h, ada, card.id);
    expect(history).not.toContain('lake house');
    expect(history).not.toContain('task b');
    expect(history).toContain('Task: task c');
    expect(history.match(/Held in a channel that not everyone here can read/g)).toHaveLength(2);
  });

  it('forgets: a dialogue forgotten before the history is opened is posted as forgotten, never in full', async () => {
    const h = await start();
    const { ada } = architects(h);
    const first = await dialogueIn(h, h.userId, h.discord.channelId, 'a', `task a: ${SECRET}`);
    const card = await threeDissonantAfter(h);
    expect(JSON.stringify(await h.runtime.amendments.get('p1'))).toContain('lake house');

    const forget = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { thread: first.id },
      'forget',
    );
    expect(await answerTo(h, forget.id)).toMatch(/^Forgotten: 1 dialogue/);
    expect(JSON.stringify(await h.runtime.amendments.get('p1'))).not.toContain('lake house');

    const history = await openHistory(h, ada, card.id);
    expect(history).not.toContain('lake house');
    expect(history).not.toContain('task a');
    expect(history).toContain('This dialogue was forgotten');
    expect(history).toContain('Task: task b');
  });
});

/** After one dialogue already had: two more dissonant ones, the last answered by a draft; waits for the card. */
async function threeDissonantAfter(h: BotHarness) {
  await dialogue(h, 'b');
  scriptDissonantRound(h.ollama, 'c');
  h.ollama.script(ALFRED, [draftAnswer(amendedCodex(h.runtime.config.codexPath))]);
  h.ollama.script(BRICK, ['Review.']).script(ROBIN, ['Review.']);
  h.discord.userSays(h.userId, h.discord.channelId, 'task c', { mentionBot: true });
  return h.discord.waitFor(() => proposalCard(h), 10_000);
}

describe('the codex edited by hand on the host', () => {
  it('applies a good edit at once, refuses a bad one with file and line, and marks a pending proposal stale', async () => {
    const h = await start({ channels: { LOG_CHANNEL_ID: 'bot-log' }, compose: { codexDebounceMs: 50 } });
    const path = h.runtime.config.codexPath;
    const log = () => h.discord.messages(h.channels.LOG_CHANNEL_ID ?? '').map((m) => m.content);

    // A bad edit: the old codex stays in force, the log says where the problem is.
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, good.replace(/temperature = [\d.]+/, 'temperature = "warm"'));
    await h.discord.waitFor(() => log().find((m) => m.includes('was refused')));
    // The file by its name and line (the host's folders stay out of a channel's post).
    const refused = log().find((m) => m.includes('was refused')) ?? '';
    expect(refused).toMatch(/…\/codex\.toml:\d+ personas\.\w+\.temperature/);
    expect(refused).not.toContain(path);
    expect(h.runtime.codex().data.version).toBe(1);

    // Put back as it was (the text in force: nothing to adopt), then a proposal is pending when
    // the operator edits by hand.
    writeFileSync(path, good);
    await threeDissonant(h, [draftAnswer(amendedCodex(path))]);
    expect((await h.runtime.amendments.get('p1'))?.state).toBe('pending');
    writeFileSync(path, good.replace(OLD_PRINCIPLE, 'Disagree kindly, edited by hand.'));
    await h.discord.waitFor(() => log().find((m) => m.includes('edited on the host: version 2')));
    expect(h.runtime.codex().data.version).toBe(2);
    expect(readFileSync(path, 'utf8')).toMatch(/^version = 2$/m);
    expect(h.runtime.personas().get('ROBIN').principles).toContain('Disagree kindly, edited by hand.');
    expect(await h.runtime.amendments.get('p1')).toMatchObject({
      state: 'stale',
      reason: expect.stringMatching(/edited on the host/),
    });
    expect(await h.runtime.amendments.pausedReason()).toBeNull();
    await h.discord.waitFor(() => (buttons(proposalCard(h)).length === 0 ? true : undefined));
    // The history says so.
    const history = await h.discord.runCommand(h.userId, h.discord.channelId, 'codex', {}, 'history');
    const shown = await h.discord.waitFor(() => h.discord.interaction(history.id).edits[0]);
    expect(JSON.stringify(shown.embeds)).toContain('**v2** — edited on the host');
  });
});
