import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CurationLedger } from '../../src/services/curation/curationLedger.ts';
import { GoldenTable } from '../../src/services/curation/goldenTable.ts';
import { snapshotDataset } from '../../src/services/finetune/datasetSnapshot.ts';
import { ManualClock } from '../support/clock.ts';
import { JUDGE_MODEL, judgeWith, verdict, writeCurationCodex } from '../support/curation.ts';
import { EMBED_MODEL, TEST_MODELS, tempFolders } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { usePostgres } from '../support/postgres.ts';
import { scriptRound } from '../support/scripts.ts';

const folders = tempFolders();
const postgres = usePostgres();
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  folders.cleanup();
});

/** A harness whose curation state is in a fresh PostgreSQL database (`DATABASE_URL`). */
async function start() {
  const databaseUrl = await postgres.database();
  harness = await startHarness({
    env: {
      CODEX_PATH: writeCurationCodex(folders.folder()),
      DATABASE_URL: databaseUrl,
      MEMORY_RECALL_K: '0',
      CURATION_SCOPE: 'all',
      CURATION_ANCHOR_SIZE: '2',
    },
    models: [...Object.values(TEST_MODELS), EMBED_MODEL, JUDGE_MODEL],
  });
  return { h: harness, databaseUrl };
}

async function dialogue(h: Harness, tag: string) {
  scriptRound(h.emulator, {
    plan: `plan ${tag}`,
    thesis: `thesis ${tag}`,
    antithesis: `antithesis ${tag}`,
    answer: `answer ${tag}`,
  });
  await h.talk(`c-${tag}`, `task ${tag}`, { guildId: '100000000000000001', userId: 'u1' });
  return (await h.runtime.memory.records(`c-${tag}`)).at(-1)!;
}

describe('curation with DATABASE_URL', () => {
  it('keeps its cursor, verdicts and golden sets in PostgreSQL, not in DATA_DIR, and a restart reads them', async () => {
    const { h, databaseUrl } = await start();
    const a = await dialogue(h, 'a');
    await dialogue(h, 'b');
    judgeWith(h.emulator, (persona) => verdict(persona === 'ROBIN' ? 2 : 5));
    const report = await h.runtime.curation.run();
    expect(report.personas.BRICK).toMatchObject({ added: 2 });

    expect(existsSync(join(h.dataDir, 'golden'))).toBe(false);
    expect(existsSync(join(h.dataDir, 'curation.sqlite'))).toBe(false);
    expect(existsSync(join(h.dataDir, 'reactions.sqlite'))).toBe(false);
    const view = await h.runtime.curation.show('BRICK');
    expect(view?.manifest).toMatchObject({ samples: 2, anchor: { samples: 2, frozen: true } });
    expect(view?.newest.map((s) => s.messages.at(-1)?.content)).toEqual(['thesis a', 'thesis b']);
    expect(view?.path).toContain('golden_samples');
    expect(await h.runtime.curation.sizes()).toContainEqual({
      persona: 'BRICK',
      samples: 2,
      anchor: 2,
      frozen: true,
    });

    // /memory forget: the dialogue's samples leave the table, and its verdicts the ledger.
    const forgotten = await h.runtime.curation.forget([a.id]);
    expect(forgotten.removed.BRICK).toEqual({ samples: 1, anchor: 1 });
    await h.runtime.close();

    const restarted = await h.restart();
    try {
      expect(await restarted.curation.start()).toEqual({ repaired: {} });
      expect((await restarted.curation.show('BRICK'))?.manifest.samples).toBe(1);
      expect((await restarted.curation.run()).dialogues).toBe(0);
      const ledger = await CurationLedger.open({ dataDir: h.dataDir, databaseUrl });
      expect(await ledger.verdictsOf(a.id)).toEqual([]);
      expect(await ledger.cursor()).toBe(report.cursor);
      await ledger.close();
    } finally {
      await restarted.close();
    }
  });

  it('tells a run that another process holds the lease, and leaves the forget to it', async () => {
    const { h, databaseUrl } = await start();
    const a = await dialogue(h, 'a');
    judgeWith(h.emulator, () => verdict(5));
    await h.runtime.curation.run();
    // Another host curates now: its lease lives (it renews it), and its pid means nothing here.
    const other = await CurationLedger.open({ dataDir: folders.folder(), databaseUrl });
    expect(await other.acquireLease('another host', Date.now())).toEqual({ ok: true });
    expect((await h.runtime.curation.run()).busy).toBe(process.pid);
    const forgotten = await h.runtime.curation.forget([a.id]);
    expect(forgotten).toMatchObject({ total: 0, pendingOn: process.pid });
    // Once it lets go, the forget waiting in the ledger is applied by whoever takes the lease next.
    await other.releaseLease('another host');
    await other.close();
    await h.runtime.curation.run();
    expect((await h.runtime.curation.show('BRICK'))?.manifest.samples).toBe(0);
  });

  it('freezes a fine-tune’s dataset from the table as it would from the files', async () => {
    const { h, databaseUrl } = await start();
    for (const tag of ['a', 'b', 'c']) await dialogue(h, tag);
    judgeWith(h.emulator, () => verdict(5));
    await h.runtime.curation.run();
    const golden = await GoldenTable.open(
      { dataDir: h.dataDir, databaseUrl },
      { anchorSize: 2, clock: new ManualClock() },
    );
    try {
      const folder = folders.folder();
      const snapshot = await snapshotDataset({
        golden,
        dataDir: h.dataDir,
        persona: 'ALFRED',
        folder,
        holdoutShare: 0,
        policy: { scope: 'all', memberShare: 1 },
      });
      // Each ALFRED turn once (the anchor's first two are also in the set): plan and answer of three dialogues.
      expect(snapshot).toMatchObject({ train: 6, anchor: 2, golden: 6 });
      const trained = readFileSync(snapshot.trainPath, 'utf8');
      const lines: string[] = [];
      for await (const line of golden.lines('ALFRED', 'golden')) lines.push(line);
      expect(trained).toBe(lines.map((line) => `${line}\n`).join(''));
    } finally {
      await golden.close();
    }
  });
});
