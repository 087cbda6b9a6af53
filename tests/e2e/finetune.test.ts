import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BotHarness, BotHarnessOptions } from '../support/botHarness.ts';
import { architect } from '../support/botSteps.ts';
import type { EmulatedMessage } from '../support/discordEmulator.ts';
import { FAKE_TRAINER, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { REPO_ROOT, TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const bot = useBotHarness({
  env: {
    FINETUNE_COMMAND: FAKE_TRAINER,
    FINETUNE_HOLDOUT: '0.5',
    FINETUNE_EVAL_PROMPTS: '4',
    FINETUNE_PROMOTE_RULE: 'majority',
  },
  channels: { LOG_CHANNEL_ID: 'bot-log', GOVERNANCE_CHANNEL_ID: 'governance' },
});

/** A bot whose ROBIN has 20 golden samples to train on. */
async function start(options: BotHarnessOptions = {}) {
  const h = await bot.start(options);
  writeGolden(h.runtime.config.dataDir, 'ROBIN', 20);
  return h;
}
const jobMessage = (h: BotHarness) =>
  h.discord
    .messages(h.channels.LOG_CHANNEL_ID ?? '')
    .find((m) => JSON.stringify(m.embeds).includes('Fine-tune ft1'));
const embedText = (message: EmulatedMessage | undefined) => JSON.stringify(message?.embeds ?? []);
const answer = async (h: BotHarness, id: string) =>
  h.discord.waitFor(() => {
    const record = h.discord.interaction(id);
    return record.edits.at(-1)?.content ?? record.followups[0]?.content ?? record.responses[0]?.data?.content;
  });

describe('fine-tuning in Discord', () => {
  it('an architect’s /finetune run with FINETUNE_PROMOTION=auto: one log message followed to the swap, with the loss curve, the exam and the evaluation', async () => {
    const h = await start({ env: { FINETUNE_PROMOTION: 'auto' } });
    const ada = architect(h);
    scriptEvaluation(h.ollama, { prefers: 'candidate' });

    const refused = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'finetune',
      { persona: 'ROBIN' },
      'run',
    );
    expect(await answer(h, refused.id)).toMatch(/Only members with the \*\*architect\*\* role/);

    const run = await h.discord.runCommand(ada, h.discord.channelId, 'finetune', { persona: 'robin' }, 'run');
    expect(await answer(h, run.id)).toMatch(/Fine-tune ft1 of ROBIN started/);
    await h.runtime.fineTuner.settled();
    const message = await h.discord.waitFor(() => {
      const found = jobMessage(h);
      return found && /Swapped in/.test(embedText(found)) && found.attachments.length > 0 ? found : undefined;
    }, 10_000);
    // One message, edited as the job went, never a new one per step.
    expect(
      h.discord
        .messages(h.channels.LOG_CHANNEL_ID ?? '')
        .filter((m) => embedText(m).includes('Fine-tune ft1')),
    ).toHaveLength(1);
    expect(h.discord.edits(message.id).length).toBeGreaterThanOrEqual(1);
    expect(message.attachments.map((a) => a.filename)).toEqual(['loss-ft1.png']);
    const png = Buffer.from(await (await fetch(message.attachments[0]?.url ?? '')).arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(embedText(message)).toMatch(/prompts +won +tied +lost/);
    expect(embedText(message)).toMatch(/general +12 +12 +0 +0 +100%/);
    expect(embedText(message)).toContain('batos-robin-v1');
    // The exam: its size, its hash, and the least the rule would have promoted.
    expect(embedText(message)).toMatch(
      /"name":"Exam","value":"4 held-out \+ 12 general prompts \(16 added\) · `[0-9a-f]{12}` · smallest promotable share 62\.5% \(2½ of 4\) \(majority\)"/,
    );

    // /personas and /finetune status tell the lineage; /forge rollback (the older name of
    // /finetune rollback) flips back at once.
    const personas = await h.discord.runCommand(h.userId, h.discord.channelId, 'personas');
    const listed = await h.discord.waitFor(() => h.discord.interaction(personas.id).responses[0]);
    expect(JSON.stringify(listed.data.embeds)).toMatch(/batos-robin-v1.*fine-tuned v1 of .*robin-test/);
    const status = await h.discord.runCommand(h.userId, h.discord.channelId, 'finetune', {}, 'status');
    await h.discord.waitFor(() => h.discord.interaction(status.id).edits[0]);
    expect(JSON.stringify(h.discord.interaction(status.id).edits[0]?.embeds)).toMatch(
      /ROBIN.*batos-robin-v1` \(v1 of 1\)/,
    );
    const rollback = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'forge',
      { persona: 'ROBIN' },
      'rollback',
    );
    expect(await answer(h, rollback.id)).toMatch(
      /ROBIN now speaks through `robin-test:latest` \(version 0\)/,
    );
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
  });

  it('by default a better candidate waits for the architect’s Promote; others may not press it', async () => {
    const h = await start();
    expect(h.runtime.config.finetunePromotion).toBe('architect');
    const ada = architect(h);
    scriptEvaluation(h.ollama, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: ada });
    await h.runtime.fineTuner.settled();
    const card = await h.discord.waitFor(() =>
      h.discord
        .messages(h.channels.GOVERNANCE_CHANNEL_ID ?? '')
        .find((m) => m.content.includes('is better than the model in force')),
    );
    // Won, and nothing swapped: the job waits, its message says so.
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'awaiting_architect',
      evaluation: { better: true },
    });
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
    await h.discord.waitFor(() =>
      /waiting for the architect/.test(embedText(jobMessage(h))) ? true : undefined,
    );

    const stranger = await h.discord.clickButton(h.userId, card.id, 'finetune:promote:ft1');
    expect(
      await h.discord.waitFor(() => h.discord.interaction(stranger.id).responses[0]?.data?.content),
    ).toMatch(/Only members/);
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();

    const promote = await h.discord.clickButton(ada, card.id, 'finetune:promote:ft1');
    expect(await h.discord.waitFor(() => h.discord.interaction(promote.id).followups[0]?.content)).toMatch(
      /Promoted: ROBIN now speaks through `batos-robin-v1`/,
    );
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBe('batos-robin-v1');
    // The card's buttons are spent.
    await h.discord.waitFor(() => {
      const components = JSON.stringify(h.discord.message(card.id)?.components ?? []);
      return components.includes('"disabled":true') ? true : undefined;
    });
    // The next ROBIN turn goes to the promoted model.
    h.ollama.script(TEST_MODELS.ALFRED, ['plan', 'answer']).script(TEST_MODELS.BRICK, ['thesis']);
    h.ollama.script('batos-robin-v1', ['tuned\nDISSONANCE: 0.1']);
    const message = h.discord.userSays(h.userId, h.discord.channelId, 'A task', { mentionBot: true });
    await h.discord.waitFor(
      () => h.discord.messages(message.id).find((m) => m.content.startsWith('tuned')),
      10_000,
    );
  });

  it('says in the job’s message why the trainer failed, without absolute paths or its command line; an architect gets them privately', async () => {
    // A trainer that fails as a Python one does: a traceback on stderr, an error naming its dataset.
    const script = join(REPO_ROOT, 'tests', 'support', 'failingTrainer.mjs');
    const h = await start({ env: { FINETUNE_COMMAND: `node ${script}` } });
    const ada = architect(h);
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: ada });
    await h.runtime.fineTuner.settled();
    const message = await h.discord.waitFor(() => {
      const found = jobMessage(h);
      return found && /Failed/.test(embedText(found)) ? found : undefined;
    }, 10_000);
    const dataDir = h.runtime.config.dataDir;
    const shown = embedText(message);
    expect(shown).toContain('the trainer failed: cannot read …/train.jsonl');
    expect(shown).toContain('OSError: …/train.jsonl: permission denied');
    for (const hostDetail of [dataDir, REPO_ROOT, '/opt/venv', '--dataset', '--output', 'failingTrainer'])
      expect(shown).not.toContain(hostDetail);

    // /finetune status shows the channel the same; the architect who asks gets the rest privately.
    const asMember = await h.discord.runCommand(h.userId, h.discord.channelId, 'finetune', {}, 'status');
    await h.discord.waitFor(() => h.discord.interaction(asMember.id).edits[0]);
    const memberStatus = JSON.stringify(h.discord.interaction(asMember.id).edits[0]?.embeds);
    expect(memberStatus).toContain('the trainer failed: cannot read …/train.jsonl');
    expect(memberStatus).not.toContain(dataDir);
    expect(h.discord.interaction(asMember.id).followups).toEqual([]);
    const asArchitect = await h.discord.runCommand(ada, h.discord.channelId, 'forge', {}, 'status');
    const detail = await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).followups[0]);
    expect(detail.flags).toBe(64);
    expect(detail.content).toContain(
      `the trainer failed: cannot read ${join(dataDir, 'finetune', 'ft1', 'train.jsonl')}`,
    );
    expect(detail.content).toContain(`$ node ${script} --dataset`);
    expect(JSON.stringify(h.discord.interaction(asArchitect.id).edits[0]?.embeds)).not.toContain(dataDir);
  });

  it('says plainly in the job’s message when the exam is too small to ever promote, and trains nothing', async () => {
    const h = await bot.start({ env: { FINETUNE_PROMOTE_RULE: 'lower-bound' } });
    writeGolden(h.runtime.config.dataDir, 'ROBIN', 2);
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: architect(h) });
    await h.runtime.fineTuner.settled();
    const message = await h.discord.waitFor(() => {
      const found = jobMessage(h);
      return found && /Not trained/.test(embedText(found)) ? found : undefined;
    }, 10_000);
    expect(embedText(message)).toMatch(
      /Not trained: the exam is too small for any candidate to be promoted\\nROBIN's exam holds [0-2] held-out prompts?: with FINETUNE_PROMOTE_RULE=lower-bound a candidate can only be promoted on 4 or more/,
    );
    expect(embedText(message)).toMatch(
      /"name":"Exam","value":"[0-2] held-out \+ 12 general prompts .*no share can be promoted: lower-bound needs 4 held-out prompts or more"/,
    );
    expect(embedText(message)).not.toMatch(/not better/i);
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([]);
  });
});
