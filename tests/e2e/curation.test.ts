import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BotHarness } from '../support/botHarness.ts';
import { architect, untilRecorded } from '../support/botSteps.ts';
import { judgeWith, judgings, readGolden, verdict } from '../support/curation.ts';
import { Permission } from '../support/discordEmulator.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED } = TEST_MODELS;
// @everyone can read the server's channels, as in most servers: its dialogues are public, and
// curated under the default CURATION_SCOPE.
const bot = useBotHarness({ discord: { everyonePermissions: Permission.ViewChannel } });

/** One dialogue through a mention, recorded in the interaction log. */
async function mentionAndRecord(h: BotHarness, tag: string) {
  h.scriptRound(tag);
  const message = h.discord.userSays(h.userId, h.discord.channelId, `task ${tag}`, { mentionBot: true });
  const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await untilRecorded(h, thread.id);
  return thread;
}

/** The final edit of a deferred reply. */
const answerTo = (h: BotHarness, id: string) => h.discord.waitFor(() => h.discord.interaction(id).edits[0]);

describe('/curate', () => {
  it('runs the job now for the architect: what it judged, kept and rejected per persona, best and worst; one line in the log channel', async () => {
    const h = await bot.start({ channels: { LOG_CHANNEL_ID: 'bot-log' } });
    const thread = await mentionAndRecord(h, 'one');
    // The judge is ALFRED, on his own model (the shipped [curation] table names no other).
    judgeWith(h.ollama, (persona) => verdict(persona === 'ROBIN' ? 2 : 5, `${persona} reason`));

    const refused = await h.discord.runCommand(h.userId, h.discord.channelId, 'curate', {}, 'run');
    const refusal = await h.discord.waitFor(() => h.discord.interaction(refused.id).responses[0]);
    expect(refusal).toMatchObject({ data: { flags: 64, content: expect.stringMatching(/architect/) } });
    expect(judgings(h.ollama)).toEqual([]);

    const ada = architect(h);
    const ran = await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run');
    const reply = await answerTo(h, ran.id);
    expect(h.discord.interaction(ran.id).responses[0]).toMatchObject({ type: 5, data: { flags: 64 } });
    const embed = reply.embeds[0] as { description: string; fields: Array<{ name: string; value: string }> };
    expect(embed.description).toContain('Judged 1 dialogue');
    expect(embed.description).toContain(`Best: **5/5** ALFRED in <#${thread.id}> — ALFRED reason`);
    expect(embed.description).toContain(`Worst: **2/5** ROBIN in <#${thread.id}> — ROBIN reason`);
    expect(embed.fields.map((f) => [f.name, f.value])).toEqual([
      ['ALFRED', 'judged 1 · kept 1 · rejected 0 → **+2 samples**'],
      ['BRICK', 'judged 1 · kept 1 · rejected 0 → **+1 sample**'],
      ['ROBIN', 'judged 1 · kept 0 · rejected 1 → **+0 samples**'],
    ]);
    expect(judgings(h.ollama).every((r) => r.model === ALFRED)).toBe(true);

    const logged = await h.discord.waitFor(() =>
      h.discord.messages(h.channels.LOG_CHANNEL_ID ?? '').find((m) => m.content.includes('curated')),
    );
    expect(logged.content).toBe('🏅 curated 1 dialogue: ALFRED +2, BRICK +1');

    // A second run has nothing new, keeps nothing, and posts nothing.
    const again = await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run');
    expect(JSON.stringify((await answerTo(h, again.id)).embeds)).toContain('Nothing new to curate');
    await h.settle();
    expect(
      h.discord.messages(h.channels.LOG_CHANNEL_ID ?? '').filter((m) => m.content.includes('curated')),
    ).toHaveLength(1);
  });

  it('shows a persona’s set to the architect with its histogram, newest samples and the file attached', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const thread = await mentionAndRecord(h, 'shown');
    judgeWith(h.ollama, () => verdict(4, 'solid and short'));
    const ran = await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run');
    await answerTo(h, ran.id);

    const refused = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'curate',
      { persona: 'BRICK' },
      'show',
    );
    expect(
      (await h.discord.waitFor(() => h.discord.interaction(refused.id).responses[0])).data.content,
    ).toMatch(/architect/);

    const show = await h.discord.runCommand(ada, h.discord.channelId, 'curate', { persona: 'brick' }, 'show');
    const shown = await answerTo(h, show.id);
    const embed = shown.embeds[0] as {
      title: string;
      description: string;
      fields: Array<{ name: string; value: string }>;
    };
    expect(embed.title).toBe('🏅 Golden dataset: BRICK');
    expect(embed.description).toMatch(/\*\*1 sample\*\*/);
    expect(embed.description).toContain('anchor set: 1 of 50, filling');
    expect(embed.fields[0]?.value).toMatch(/`4` █+ 1/);
    expect(embed.fields[1]?.value).toContain(`**4/5** thesis in <#${thread.id}>`);
    expect(embed.fields[1]?.value).toContain('> thesis shown');
    const upload = h.discord.requests.find(
      (r) => r.method === 'PATCH' && r.path.includes(h.discord.interaction(show.id).token),
    );
    const file = join(h.runtime.config.dataDir, 'golden', 'BRICK.jsonl');
    expect(upload?.files?.map((f) => [f.filename, f.size])).toEqual([['BRICK.jsonl', statSync(file).size]]);

    const none = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'curate',
      { persona: 'NOBODY' },
      'show',
    );
    expect((await answerTo(h, none.id)).content).toMatch(/NOBODY has no golden samples yet/);
  });

  it('/memory forget also removes the dialogue’s golden samples and says how many', async () => {
    const h = await bot.start();
    const ada = architect(h);
    const thread = await mentionAndRecord(h, 'private');
    judgeWith(h.ollama, () => verdict(5));
    await answerTo(h, (await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run')).id);
    const dataDir = h.runtime.config.dataDir;
    expect(readGolden(dataDir, 'ALFRED.jsonl')).toHaveLength(2);

    const forgot = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { thread: thread.id },
      'forget',
    );
    expect((await answerTo(h, forgot.id)).content).toBe(
      `Forgotten: 1 dialogue from <#${thread.id}> — the records, their vectors, the conversation state and 4 golden samples (ALFRED 2, BRICK 1, ROBIN 1).`,
    );
    for (const file of ['ALFRED.jsonl', 'BRICK.jsonl', 'ROBIN.jsonl', 'BRICK.anchor.jsonl']) {
      expect(readGolden(dataDir, file)).toEqual([]);
    }
  });

  it('/status shows the golden set sizes and the curation job’s last and next run', async () => {
    const h = await bot.start();
    const ada = architect(h);
    await mentionAndRecord(h, 'status');
    judgeWith(h.ollama, () => verdict(5));
    await answerTo(h, (await h.discord.runCommand(ada, h.discord.channelId, 'curate', {}, 'run')).id);

    const status = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const fields = (await answerTo(h, status.id)).embeds[0].fields as Array<{ name: string; value: string }>;
    expect(fields.find((f) => f.name === 'Golden datasets')?.value).toBe(
      'ALFRED 2 (anchor 2) · BRICK 1 (anchor 1) · ROBIN 1 (anchor 1)',
    );
    const autonomy = fields.find((f) => f.name === 'Autonomy')?.value ?? '';
    expect(autonomy).toMatch(
      /`curation` \(`0 \* \* \* \*`\) · last ok <t:\d+:R>: curated 1 dialogue: ALFRED \+2, BRICK \+1, ROBIN \+1 · next <t:\d+:R>/,
    );
  });
});
