import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GoldenSample, snapshotDataset } from '../../../../src/services/finetune/datasetSnapshot.ts';
import { admitSamples } from '../../../../src/services/finetune/snapshotPolicy.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

/** A sample of these members' words, held where `visibility` says (null: written before it was kept). */
function sample(text: string, members: string[], visibility: string | null = 'public'): GoldenSample {
  return {
    messages: [
      { role: 'system', content: 'You are ROBIN.' },
      { role: 'user', content: `Question: ${text}?` },
      { role: 'assistant', content: `${text}.\nDISSONANCE: 0.2` },
    ],
    meta: { interaction_id: text, members, ...(visibility === null ? {} : { visibility }) },
  };
}

const many = (member: string, count: number) =>
  Array.from({ length: count }, (_, i) => sample(`${member} ${i}`, member ? [member] : []));

const membersOf = (s: GoldenSample) => (s.meta?.members as string[] | undefined) ?? [];

const countsOf = (samples: GoldenSample[]) => {
  const counts = new Map<string, number>();
  for (const s of samples) for (const m of membersOf(s)) counts.set(m, (counts.get(m) ?? 0) + 1);
  return counts;
};

describe('a fine-tune dataset’s member share (FINETUNE_MEMBER_SHARE)', () => {
  it('keeps each member within the share of what is kept, their oldest samples first', () => {
    const samples = [
      ...many('mallory', 30),
      ...many('alice', 4),
      ...many('bob', 4),
      ...many('carol', 4),
      ...many('dave', 4),
      // The operator's (the terminal chat's): nobody's share.
      ...many('', 4),
    ];

    const { kept, overShare, outOfScope } = admitSamples(samples, { scope: 'public', memberShare: 0.25 });

    const counts = countsOf(kept);
    for (const [member, count] of counts) expect(count, member).toBeLessThanOrEqual(0.25 * kept.length);
    // Mallory's flood is cut to her oldest samples; everyone else's are all kept.
    const mallorys = kept.filter((s) => membersOf(s).includes('mallory'));
    expect(mallorys.map((s) => s.meta?.interaction_id)).toEqual(
      Array.from({ length: 6 }, (_, i) => `mallory ${i}`),
    );
    expect(counts.get('mallory')).toBe(6);
    expect(kept).toHaveLength(26);
    expect(overShare).toBe(24);
    expect(outOfScope).toBe(0);
    expect(admitSamples(samples, { scope: 'public', memberShare: 1 }).kept).toHaveLength(50);
  });

  it('counts a sample of several members for each of them', () => {
    const shared = Array.from({ length: 8 }, (_, i) => sample(`together ${i}`, ['mallory', 'alice']));
    const samples = [...shared, ...many('bob', 3), ...many('carol', 3), ...many('', 12)];

    const { kept } = admitSamples(samples, { scope: 'public', memberShare: 0.25 });

    const counts = countsOf(kept);
    expect(counts.get('mallory')).toBe(counts.get('alice'));
    for (const [member, count] of counts) expect(count, member).toBeLessThanOrEqual(0.25 * kept.length);
    expect(counts.get('mallory')).toBe(6);
    expect(kept).toHaveLength(24);
  });

  it('takes only the samples inside CURATION_SCOPE; those written before their visibility was kept only under all', () => {
    const samples = [
      sample('open', [], 'public'),
      sample('members only', [], 'restricted'),
      sample('whispered', [], 'private-thread'),
      sample('other server', [], 'foreign'),
      sample('old', [], null),
    ];
    const ids = (scope: 'public' | 'home' | 'all') =>
      admitSamples(samples, { scope, memberShare: 1 }).kept.map((s) => s.meta?.interaction_id);

    expect(ids('public')).toEqual(['open']);
    expect(ids('home')).toEqual(['open', 'members only', 'whispered']);
    expect(ids('all')).toEqual(['open', 'members only', 'whispered', 'other server', 'old']);
    expect(admitSamples(samples, { scope: 'public', memberShare: 1 }).outOfScope).toBe(4);
  });
});

describe('snapshotDataset', () => {
  it('freezes only what the policy admits, the anchor set first within a member’s share, and says what it left out', async () => {
    const dataDir = folder();
    mkdirSync(join(dataDir, 'golden'));
    const lines = (samples: GoldenSample[]) => samples.map((s) => `${JSON.stringify(s)}\n`).join('');
    const anchor = many('mallory', 2);
    const golden = [
      ...anchor,
      ...many('mallory', 20).slice(2),
      ...many('alice', 3),
      ...many('bob', 3),
      ...many('carol', 3),
      ...many('dave', 3),
      sample('whispered', ['alice'], 'private-thread'),
    ];
    writeFileSync(join(dataDir, 'golden', 'ROBIN.jsonl'), lines(golden));
    writeFileSync(join(dataDir, 'golden', 'ROBIN.anchor.jsonl'), lines(anchor));
    const out = folder();

    const snapshot = await snapshotDataset({
      dataDir,
      persona: 'ROBIN',
      folder: out,
      holdoutShare: 0.2,
      policy: { scope: 'public', memberShare: 0.25 },
    });

    const frozen = [snapshot.trainPath, snapshot.holdoutPath].flatMap((path) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as GoldenSample),
    );
    expect(frozen).toHaveLength(snapshot.train + snapshot.holdout.length);
    expect(frozen.map((s) => s.meta?.interaction_id)).not.toContain('whispered');
    const counts = countsOf(frozen);
    for (const [member, count] of counts) expect(count, member).toBeLessThanOrEqual(0.25 * frozen.length);
    expect(counts.get('mallory')).toBe(4);
    expect(snapshot.anchor).toBe(2);
    expect(snapshot.golden).toBe(golden.length);
    expect(frozen).toHaveLength(16);
    expect(snapshot.leftOut).toEqual({ scope: 1, share: 16 });
  });
});
