import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import curate from '../../commands/curate.ts';
import { snapshotDataset } from '../../src/services/finetune/datasetSnapshot.ts';
import type { BotHarness } from '../support/botHarness.ts';
import { architect, untilRecorded } from '../support/botSteps.ts';
import { judgedTask, judgeWith, judgings, readGolden, verdict } from '../support/curation.ts';
import { Permission } from '../support/discordEmulator.ts';
import { tempFolders } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

/**
 * Only what everyone may see becomes weights: the bot records who could see each dialogue, and
 * curation (default `CURATION_SCOPE=public`) takes only the home server's channels that @everyone
 * can read, outside private threads.
 */

// @everyone can read the server's channels unless a channel says otherwise, as in most servers.
const bot = useBotHarness({ discord: { everyonePermissions: Permission.ViewChannel } });
const folders = tempFolders();
afterEach(folders.cleanup);

const PERSONAS = ['ALFRED', 'BRICK', 'ROBIN'];

/** A dialogue started by `userId`'s mention in a channel; resolves with its thread's id once recorded. */
async function mentionIn(h: BotHarness, channelId: string, tag: string, userId = h.userId) {
  h.scriptRound(tag);
  const message = h.discord.userSays(userId, channelId, `task ${tag}`, { mentionBot: true });
  await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await untilRecorded(h, message.id);
  return message.id;
}

/** Every golden file's text, sets and anchors. */
const goldenText = (h: BotHarness) =>
  PERSONAS.flatMap((p) => [`${p}.jsonl`, `${p}.anchor.jsonl`])
    .map((file) => JSON.stringify(readGolden(h.runtime.config.dataDir, file)))
    .join('\n');

/**
 * Registers `/curate` in the emulator's server, as `npm run deploy-commands` would: a user option
 * reaches the bot as a user only when Discord knows the command's options.
 */
async function deployCurate(h: BotHarness) {
  const { discord } = h;
  const response = await fetch(
    `${discord.apiUrl}/v10/applications/${discord.botUserId}/guilds/${discord.guildId}/commands`,
    {
      method: 'PUT',
      headers: { Authorization: `Bot ${discord.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify([curate.data]),
    },
  );
  expect(response.status).toBe(200);
}

/** The final edit of a deferred reply. */
const answerTo = (h: BotHarness, id: string) => h.discord.waitFor(() => h.discord.interaction(id).edits[0]);

describe('CURATION_SCOPE=public', () => {
  it('curates a private channel and a private thread into nothing: no golden sample, no dataset snapshot', async () => {
    const h = await bot.start();
    const { discord } = h;
    const open = await mentionIn(h, discord.channelId, 'open');
    // A channel only alice (and the bot) can read.
    const secret = discord.createChannel('secret', {
      overwrites: [
        { id: discord.guildId, deny: Permission.ViewChannel },
        { id: discord.memberRoleId, deny: Permission.ViewChannel },
        { id: h.userId, allow: Permission.ViewChannel },
        { id: discord.botUserId, allow: Permission.ViewChannel },
      ],
    });
    const closed = await mentionIn(h, secret, 'closed');
    // A private thread alice starts in the open channel, adding the bot.
    const whisper = discord.userStartsThread(h.userId, discord.channelId, 'just us', {
      private: true,
      members: [discord.botUserId],
    });
    h.scriptRound('whisper');
    discord.userSays(h.userId, whisper, 'task whisper', { mentionBot: true });
    await untilRecorded(h, whisper);

    const visibility = async (thread: string) => (await h.runtime.memory.records(thread))[0]?.visibility;
    expect([await visibility(open), await visibility(closed), await visibility(whisper)]).toEqual([
      'public',
      'restricted',
      'private-thread',
    ]);

    judgeWith(h.ollama, () => verdict(5));
    const ran = await discord.runCommand(architect(h), discord.channelId, 'curate', {}, 'run');
    const embed = (await answerTo(h, ran.id)).embeds[0] as { description: string };

    expect(embed.description).toContain('Judged 1 dialogue');
    expect(embed.description).toContain('2 dialogues not judged: outside `CURATION_SCOPE`');
    expect(judgings(h.ollama).map(judgedTask)).toEqual(['task open', 'task open', 'task open']);
    const samples = PERSONAS.flatMap((p) => readGolden(h.runtime.config.dataDir, `${p}.jsonl`));
    expect(samples).toHaveLength(4);
    expect(new Set(samples.map((s) => s.meta.conversation_id))).toEqual(new Set([open]));
    expect(samples.every((s) => s.meta.members?.join() === h.userId)).toBe(true);
    const text = goldenText(h);
    for (const words of ['closed', 'whisper', closed, whisper]) expect(text).not.toContain(words);

    for (const persona of PERSONAS) {
      const snapshot = await snapshotDataset({
        dataDir: h.runtime.config.dataDir,
        persona,
        folder: folders.folder(),
        holdoutShare: 0.1,
        policy: { scope: 'public', memberShare: 1 },
      });
      const frozen = readFileSync(snapshot.trainPath, 'utf8') + readFileSync(snapshot.holdoutPath, 'utf8');
      expect(frozen).toContain('open');
      for (const words of ['closed', 'whisper']) expect(frozen).not.toContain(words);
    }
  });
});

describe('/curate forget member:', () => {
  it('removes, for the architect, every golden sample holding a member’s words', async () => {
    const h = await bot.start();
    const { discord } = h;
    await deployCurate(h);
    const bob = discord.createUser('bob');
    const alices = await mentionIn(h, discord.channelId, 'alice asks');
    const bobs = await mentionIn(h, discord.channelId, 'bob asks', bob);
    // Bob's plan recalled Alice's dialogue: it quotes her words too.
    const alicesRecord = (await h.runtime.memory.records(alices))[0]?.id;
    expect((await h.runtime.memory.records(bobs))[0]?.turns[0]?.recalled).toEqual([alicesRecord]);
    judgeWith(h.ollama, () => verdict(5));
    const ada = architect(h);
    await answerTo(h, (await discord.runCommand(ada, discord.channelId, 'curate', {}, 'run')).id);
    expect(PERSONAS.flatMap((p) => readGolden(h.runtime.config.dataDir, `${p}.jsonl`))).toHaveLength(8);

    const refused = await discord.runCommand(
      h.userId,
      discord.channelId,
      'curate',
      { member: bob },
      'forget',
    );
    expect((await discord.waitFor(() => discord.interaction(refused.id).responses[0])).data.content).toMatch(
      /architect/,
    );
    const forgot = await discord.runCommand(ada, discord.channelId, 'curate', { member: h.userId }, 'forget');

    expect((await answerTo(h, forgot.id)).content).toBe(
      `Removed 5 golden samples holding <@${h.userId}>’s words (ALFRED 3, BRICK 1, ROBIN 1). Their dialogues until now will not be curated again; later ones will, within \`CURATION_MEMBER_DAILY\`.`,
    );
    const left = PERSONAS.flatMap((p) => readGolden(h.runtime.config.dataDir, `${p}.jsonl`));
    expect(left.map((s) => [s.meta.conversation_id, s.meta.kind, s.meta.members])).toEqual([
      [bobs, 'answer', [bob]],
      [bobs, 'thesis', [bob]],
      [bobs, 'antithesis', [bob]],
    ]);
    expect(goldenText(h)).not.toContain('alice asks');
  });
});
