import { afterEach, describe, expect, it } from 'vitest';
import { CurationLedger } from '../../src/services/curation/curationLedger.ts';
import type { CurationScope } from '../../src/services/curation/curationScope.ts';
import type { StoredRecord } from '../../src/services/memory/interactionLog.ts';
import { ManualClock } from '../support/clock.ts';
import {
  JUDGE_MODEL,
  judgedTask,
  judgeWith,
  judgings,
  readGolden,
  verdict,
  writeCurationCodex,
} from '../support/curation.ts';
import { EMBED_MODEL, TEST_MODELS, tempFolders } from '../support/fixtures.ts';
import { type Asker, type Harness, startHarness } from '../support/harness.ts';
import { scriptRound } from '../support/scripts.ts';

/**
 * What may become weights (README, "Privacy and provenance"): the scope each dialogue was held in,
 * the recollections its plan quoted, whose words every sample holds, and the caps on one member.
 */

const HOME = '100000000000000001';
const folders = tempFolders();
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  folders.cleanup();
});

/** A harness whose every judging gives 5/5; recall off unless `env` turns it on. */
async function start(env: Record<string, string> = {}, clock?: ManualClock) {
  harness = await startHarness({
    env: { CODEX_PATH: writeCurationCodex(folders.folder()), MEMORY_RECALL_K: '0', ...env },
    models: [...Object.values(TEST_MODELS), EMBED_MODEL, JUDGE_MODEL],
    ...(clock ? { overrides: { clock } } : {}),
  });
  judgeWith(harness.emulator, () => verdict(5));
  return harness;
}

/** Who asked where: by default u1, in the home server's open channel. */
const open = (over: Asker = {}): Asker => ({
  userId: 'u1',
  guildId: HOME,
  channelId: 'ch-open',
  visibility: 'public',
  ...over,
});

/** One dialogue, tagged: its task is `task <tag>` (the judge keeps answering 5/5). */
async function dialogue(h: Harness, tag: string, asker: Asker | undefined, conversationId = `c-${tag}`) {
  scriptRound(h.emulator, {
    plan: `plan ${tag}`,
    thesis: `thesis ${tag}`,
    antithesis: `antithesis ${tag}`,
    answer: `answer ${tag}`,
  });
  await h.talk(conversationId, `task ${tag}`, asker);
  return (await h.runtime.memory.records(conversationId)).at(-1) as StoredRecord;
}

/** A persona's golden samples. */
const golden = (h: Harness, persona = 'ALFRED') => readGolden(h.dataDir, `${persona}.jsonl`);
const conversations = (h: Harness, persona = 'ALFRED') => [
  ...new Set(golden(h, persona).map((s) => s.meta.conversation_id)),
];
const everySample = (h: Harness) => ['ALFRED', 'BRICK', 'ROBIN'].flatMap((p) => golden(h, p));

describe('CURATION_SCOPE', () => {
  const places: Array<[string, Asker | undefined]> = [
    ['open', open()],
    ['members', open({ channelId: 'ch-closed', visibility: 'restricted' })],
    ['whisper', open({ visibility: 'private-thread' })],
    ['elsewhere', open({ guildId: '100000000000000002', visibility: 'foreign' })],
    ['terminal', undefined],
  ];
  const cases: Array<[string, Record<string, CurationScope>, string[]]> = [
    ['public (the default)', {}, ['c-open']],
    ['home', { CURATION_SCOPE: 'home' }, ['c-open', 'c-members', 'c-whisper']],
    ['all', { CURATION_SCOPE: 'all' }, ['c-open', 'c-members', 'c-whisper', 'c-elsewhere', 'c-terminal']],
  ];

  it.each(cases)('%s: curates %j, and never judges the others', async (_scope, env, curated) => {
    const h = await start(env);
    for (const [tag, asker] of places) await dialogue(h, tag, asker);

    const report = await h.runtime.curation.run();

    expect(conversations(h)).toEqual(curated);
    expect(report.dialogues).toBe(curated.length);
    expect(report.excluded ?? 0).toBe(places.length - curated.length);
    // Nothing outside the scope was ever shown to the judge, or stored as a verdict.
    const judged = new Set(judgings(h.emulator).map(judgedTask));
    expect([...judged].sort()).toEqual(curated.map((c) => `task ${c.slice(2)}`).sort());
    // The cursor moved past them all: a later run has nothing left.
    expect((await h.runtime.curation.run()).dialogues).toBe(0);
  });
});

describe('provenance', () => {
  it('names in every sample the members whose messages it holds, the channel and the server', async () => {
    const h = await start();
    await dialogue(h, 'first', open({ userId: 'u1' }), 'c-shared');
    await dialogue(h, 'second', open({ userId: 'u2' }), 'c-shared');

    await h.runtime.curation.run();

    const samples = everySample(h);
    expect(samples).toHaveLength(8);
    for (const sample of samples) {
      expect(sample.meta).toMatchObject({
        format: 'bat-os/golden-sample@2',
        guild_id: HOME,
        channel_id: 'ch-open',
        visibility: 'public',
        recalled: [],
      });
    }
    // The second run's prompts summarize the first: u1's words are in them too.
    const byTask = (tag: string) =>
      samples.filter((s) => s.messages.at(-1)?.content.includes(tag)).map((s) => s.meta.members);
    expect(byTask('first')).toEqual([['u1'], ['u1'], ['u1'], ['u1']]);
    expect(byTask('second')).toEqual([
      ['u1', 'u2'],
      ['u1', 'u2'],
      ['u1', 'u2'],
      ['u1', 'u2'],
    ]);
  });
});

describe('recollections', () => {
  const RECALL = { MEMORY_RECALL_K: '3', MEMORY_SIMILARITY_FLOOR: '0.3' };

  it('a plan that recalled a dialogue names its asker, and forgetting that dialogue removes every sample it reached', async () => {
    const h = await start(RECALL);
    const old = await dialogue(h, 'capital of France', open({ userId: 'u3' }), 'c-old');
    const recent = await dialogue(h, 'capital of France again', open({ userId: 'u1' }), 'c-new');
    expect(recent.turns[0]?.recalled).toEqual([old.id]);

    await h.runtime.curation.run();
    const plan = golden(h).find((s) => s.meta.conversation_id === 'c-new' && s.meta.kind === 'plan');
    expect(plan?.meta).toMatchObject({ members: ['u1', 'u3'], recalled: [old.id] });
    expect(plan?.messages[1]?.content).toContain('task capital of France');
    const thesis = golden(h, 'BRICK').find((s) => s.meta.conversation_id === 'c-new');
    expect(thesis?.meta).toMatchObject({ members: ['u1'], recalled: [old.id] });

    const forgotten = await h.runtime.curation.forget([old.id]);

    expect(forgotten.total).toBe(8);
    expect(everySample(h)).toEqual([]);
    for (const persona of ['ALFRED', 'BRICK', 'ROBIN'])
      expect(readGolden(h.dataDir, `${persona}.anchor.jsonl`)).toEqual([]);
  });

  it('drops a dialogue whose plan recalled one outside the scope (or one forgotten before it was curated)', async () => {
    const h = await start(RECALL);
    await dialogue(
      h,
      'capital of France',
      open({ userId: 'u3', channelId: 'ch-closed', visibility: 'restricted' }),
      'c-closed',
    );
    const recent = await dialogue(h, 'capital of France again', open(), 'c-new');
    expect(recent.turns[0]?.recalled).toHaveLength(1);
    const other = await dialogue(h, 'budget for the offsite', open({ userId: 'u2' }), 'c-other');
    const echo = await dialogue(h, 'budget for the offsite again', open(), 'c-echo');
    expect(echo.turns[0]?.recalled).toContain(other.id);
    await h.runtime.curation.forget([other.id]);

    const report = await h.runtime.curation.run();

    expect(report.excluded).toBe(3);
    expect(everySample(h)).toEqual([]);
    expect(judgings(h.emulator)).toEqual([]);
  });
});

describe('CURATION_MEMBER_DAILY', () => {
  it('caps the samples one member’s dialogues add in a UTC day, counted durably; the next day starts afresh', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 30, 22, 0));
    const h = await start({ CURATION_MEMBER_DAILY: '3' }, clock);
    // Each dialogue gives four samples: ALFRED's plan and answer, BRICK's thesis, ROBIN's antithesis.
    await dialogue(h, 'one', open({ userId: 'u1' }));
    await dialogue(h, 'two', open({ userId: 'u1' }));
    await dialogue(h, 'three', open({ userId: 'u2' }));

    const first = await h.runtime.curation.run();

    expect(first.personas).toMatchObject({
      ALFRED: { added: 4, capped: 2 },
      BRICK: { added: 2, capped: 1 },
      // Each member's third sample that day was BRICK's: ROBIN, judged last, kept nothing.
      ROBIN: { added: 0, capped: 3 },
    });
    const of = (member: string) => everySample(h).filter((s) => s.meta.members?.includes(member)).length;
    expect(of('u1')).toBe(3);
    expect(of('u2')).toBe(3);
    const ledger = await CurationLedger.open({ dataDir: h.dataDir });
    expect(await ledger.memberAdded('u1', '2026-11-30')).toBe(3);
    await ledger.close();

    // Later the same day: nothing more from u1.
    await clock.advance(60 * 60_000);
    await dialogue(h, 'four', open({ userId: 'u1' }));
    expect((await h.runtime.curation.run()).personas.ALFRED).toMatchObject({ added: 0, capped: 2 });
    expect(of('u1')).toBe(3);

    // Past midnight (UTC), u1's new dialogues count afresh.
    await clock.advance(60 * 60_000);
    await dialogue(h, 'five', open({ userId: 'u1' }));
    const next = await h.runtime.curation.run();
    expect(next.personas).toMatchObject({ ALFRED: { added: 2 }, BRICK: { added: 1 }, ROBIN: { capped: 1 } });
    expect(of('u1')).toBe(6);
  });
});

describe('forgetting a member', () => {
  it('removes every sample holding their words, and their earlier dialogues are never curated again', async () => {
    const clock = new ManualClock();
    const h = await start({}, clock);
    await dialogue(h, 'alone', open({ userId: 'u1' }));
    await dialogue(h, 'opened', open({ userId: 'u1' }), 'c-shared');
    await dialogue(h, 'followed', open({ userId: 'u2' }), 'c-shared');
    await dialogue(h, 'bystander', open({ userId: 'u2' }));
    await h.runtime.curation.run();
    expect(everySample(h)).toHaveLength(16);
    // Recorded before the forget, curated after it.
    await clock.advance(1000);
    await dialogue(h, 'pending', open({ userId: 'u1' }));
    await clock.advance(1000);

    const report = await h.runtime.curation.forgetMember('u1');

    expect(report.total).toBe(12);
    expect(report.removed).toEqual({
      ALFRED: { samples: 6, anchor: 6 },
      BRICK: { samples: 3, anchor: 3 },
      ROBIN: { samples: 3, anchor: 3 },
    });
    expect(conversations(h)).toEqual(['c-bystander']);
    expect(readGolden(h.dataDir, 'ALFRED.anchor.jsonl').map((s) => s.meta.conversation_id)).toEqual([
      'c-bystander',
      'c-bystander',
    ]);

    await clock.advance(1000);
    await dialogue(h, 'later', open({ userId: 'u1' }));
    const after = await h.runtime.curation.run();
    expect(after.excluded).toBe(1);
    expect(conversations(h)).toEqual(['c-bystander', 'c-later']);
  });
});
