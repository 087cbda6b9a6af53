import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { amendedCodex, draftAnswer } from '../support/amendmentScripts.ts';
import type { BotHarness } from '../support/botHarness.ts';
import { personaPosts, untilRecorded } from '../support/botSteps.ts';
import { judgeWith, readGolden, verdict } from '../support/curation.ts';
import { Permission } from '../support/discordEmulator.ts';
import { FAKE_TRAINER, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

/** Words no other dialogue, setting or file holds: wherever they are found, the forgotten dialogue put them. */
const MARKER = 'Quokka7Marmalade';

// Everyone may read the channel, so the dialogues are public: curated, and taken into datasets.
const bot = useBotHarness({
  discord: { everyonePermissions: Permission.ViewChannel },
  env: {
    MAX_TURNS: '1',
    // One dissonant dialogue of one member is enough for a proposal that cites it.
    HIGH_DISSONANCE: '0.8',
    AMENDMENT_MIN_EVENTS: '1',
    AMENDMENT_MIN_MEMBERS: '1',
    // Every past dialogue of the channel is recalled, however little it resembles the task.
    MEMORY_SIMILARITY_FLOOR: '0',
    MEMORY_RECALL_K: '3',
    // No anchor set: every sample may be held out for the exam.
    CURATION_ANCHOR_SIZE: '0',
    FINETUNE_COMMAND: FAKE_TRAINER,
    FINETUNE_HOLDOUT: '0.5',
    FINETUNE_EVAL_PROMPTS: '4',
    FINETUNE_PROMOTE_RULE: 'majority',
    FINETUNE_PROMOTION: 'auto',
  },
  channels: { LOG_CHANNEL_ID: 'bot-log', GOVERNANCE_CHANNEL_ID: 'governance' },
});

/** Every file under a folder, recursively, by its path there. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The files under `dir` that hold `text` anywhere in their bytes (SQLite files, logs, snapshots alike). */
function filesHolding(dir: string, text: string): string[] {
  const needles = [Buffer.from(text), Buffer.from(text.toLowerCase())];
  return filesUnder(dir)
    .filter((file) => {
      const bytes = readFileSync(file);
      return needles.some((needle) => bytes.includes(needle));
    })
    .map((file) => relative(dir, file))
    .sort();
}

/** A record's embedding as `memory.sqlite` stores it (float32 bytes), read beside the bot. */
function storedVector(dataDir: string, recordId: string): Buffer {
  const db = new Database(join(dataDir, 'memory.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT vector FROM vectors WHERE record_id = ?').get(recordId) as { vector: Buffer })
      .vector;
  } finally {
    db.close();
  }
}

/** The index's snapshot files that hold these bytes. */
const snapshotsHolding = (dataDir: string, bytes: Buffer) =>
  filesUnder(join(dataDir, 'memory')).filter(
    (file) => file.endsWith('.hnsw') && readFileSync(file).includes(bytes),
  );

/** A mention from the harness's member; resolves with its thread once ALFRED's answer is posted and recorded. */
async function dialogue(h: BotHarness, task: string) {
  const message = h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true });
  const thread = await h.discord.waitFor(() => h.discord.threads().find((t) => t.id === message.id));
  await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 4 || undefined, 10_000);
  await untilRecorded(h, thread.id, { embedded: true });
  return thread;
}

describe('/memory forget means gone', () => {
  it('leaves none of a dialogue’s words under DATA_DIR after a clean stop: records, vectors, snapshots, checkpoints, golden sets, datasets, exams, evidence, recollections, logs', async () => {
    const h = await bot.start();
    const dataDir = h.runtime.config.dataDir;

    // 1. The dialogue: its words in the task and in every turn; dissonant enough for a proposal.
    h.ollama
      .script(ALFRED, [
        `A plan for the ${MARKER} shipment, step by step.`,
        `The ${MARKER} shipment leaves on Friday, packed in straw.`,
        draftAnswer(amendedCodex(h.runtime.config.codexPath)),
      ])
      .script(BRICK, [`Logically, the ${MARKER} crates must be weighed first.`, 'Review: logically sound.'])
      .script(ROBIN, [
        `I feel the ${MARKER} crates deserve softer straw.\nDISSONANCE: 0.9`,
        'Review: gentle enough.',
      ]);
    const forgotten = await dialogue(h, `How should we ship the ${MARKER} crates to the zoo?`);
    const card = await h.discord.waitFor(
      () => h.discord.messages(h.channels.GOVERNANCE_CHANNEL_ID ?? '').find((m) => m.embeds.length > 0),
      10_000,
    );
    expect(JSON.stringify(card.embeds)).toContain('1 dissonant dialogue');
    const [record] = await h.runtime.memory.records(forgotten.id);
    expect((await h.runtime.amendments.active())?.evidence).toEqual([record?.id]);

    // 2. A later dialogue recalls it: its plan's prompt quotes it.
    h.scriptRound('later');
    const later = await dialogue(h, 'How should we ship the other crates to the zoo?');
    expect(h.ollama.chats(ALFRED).at(-2)?.messages[1]?.content).toContain(MARKER);
    expect((await h.runtime.memory.records(later.id))[0]?.turns[0]?.recalled).toEqual([record?.id]);

    // 3. The index written to disk; both dialogues curated into the golden sets.
    await h.runtime.memory.snapshot();
    judgeWith(h.ollama, () => verdict(5));
    await h.runtime.curation.run();
    expect(JSON.stringify(readGolden(dataDir, 'ROBIN.jsonl'))).toContain(MARKER);
    // More of ROBIN's samples, after the curated ones: the exam draws held-out samples in order.
    writeGolden(dataDir, 'ROBIN', 20);

    // 4. ROBIN fine-tuned on them, and the candidate swapped in.
    scriptEvaluation(h.ollama, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'system' });
    await h.runtime.fineTuner.settled();
    expect(
      await h.runtime.fineTuner.get('ft1'),
      JSON.stringify(await h.runtime.fineTuner.get('ft1')),
    ).toMatchObject({
      state: 'promoted',
    });
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBe('batos-robin-v1');

    // 5. A terminal program's log that names the conversation (the forge logs the spec it refused).
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    const kept = `${JSON.stringify({ level: 30, msg: 'runtime ready' })}\n`;
    writeFileSync(
      join(dataDir, 'logs', 'chat.log'),
      `${kept}${JSON.stringify({ level: 40, conversationId: forgotten.id, spec: `weigh ${MARKER} crates`, msg: 'no tool was forged' })}\n`,
    );

    // Everything above holds the words now: the test reaches every place it checks.
    const before = filesHolding(dataDir, MARKER).map((file) => file.replace(/-(wal|shm)$/, ''));
    for (const place of [
      'memory.sqlite',
      'checkpoints.sqlite',
      'governance.sqlite',
      'golden/ROBIN.jsonl',
      'golden/ALFRED.jsonl',
      'logs/chat.log',
    ])
      expect(before, JSON.stringify(before)).toContain(place);
    // Trained on or held out (by its content's hash), its sample is in the job's frozen files.
    expect(before.some((file) => file.startsWith('finetune/ft1/'))).toBe(true);
    // Its embedding, as the index's snapshot file holds it.
    const vector = storedVector(dataDir, record?.id ?? '');
    expect(snapshotsHolding(dataDir, vector)).toHaveLength(1);

    // 6. The member forgets it.
    const forget = await h.discord.runCommand(
      h.userId,
      h.discord.channelId,
      'memory',
      { thread: forgotten.id },
      'forget',
    );
    const reply = (await h.discord.waitFor(() => h.discord.interaction(forget.id).edits[0]))
      .content as string;
    expect(reply).toMatch(/^Forgotten: 1 dialogue from/);
    expect(reply).toContain('Its quotes are cut from 1 dialogue that recalled it.');
    expect(reply).toContain('It is gone from the evidence of 1 proposal (p1).');
    expect(reply).toContain('Fine-tune ft1 (ROBIN) was trained on it');
    expect(reply).toContain(
      "`batos-robin-v1`, ROBIN's model in force, learned from it: an architect can roll it back with `/finetune rollback persona:ROBIN version:0`.",
    );
    expect((await h.runtime.fineTuner.get('ft1'))?.tainted?.lines).toBeGreaterThan(0);
    // The job's log message says so.
    await h.discord.waitFor(() =>
      h.discord
        .messages(h.channels.LOG_CHANNEL_ID ?? '')
        .some((m) => JSON.stringify(m.embeds).includes('Tainted'))
        ? true
        : undefined,
    );
    // What did not come from it stays: the later dialogue, the other samples, the unrelated log line.
    expect(await h.runtime.memory.records(later.id)).toHaveLength(1);
    expect(readGolden(dataDir, 'ROBIN.jsonl').length).toBeGreaterThanOrEqual(20);
    expect(readFileSync(join(dataDir, 'logs', 'chat.log'), 'utf8')).toBe(kept);

    // Already now, the bot running: the databases' write-ahead logs were emptied after the forget.
    expect(filesHolding(dataDir, MARKER)).toEqual([]);

    // 7. A clean stop, then every byte under DATA_DIR: not one of its words.
    await h.app.close();
    expect(filesHolding(dataDir, MARKER)).toEqual([]);
    expect(snapshotsHolding(dataDir, vector)).toEqual([]);
    expect(filesUnder(join(dataDir, 'memory')).filter((file) => file.endsWith('.hnsw'))).toHaveLength(1);
  }, 60_000);
});
