import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { composeRuntime } from '../../src/app/compose.ts';
import { systemClock } from '../../src/services/clock.ts';
import { parseCodex } from '../../src/services/codex/loadCodex.ts';
import { loadConfig } from '../../src/services/config.ts';
import { CurationLedger } from '../../src/services/curation/curationLedger.ts';
import { createGoldenStore } from '../../src/services/curation/goldenStore.ts';
import { ProposalStore } from '../../src/services/governance/proposalStore.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { InteractionLog } from '../../src/services/memory/interactionLog.ts';
import { ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { sha256 } from '../../src/shared/hash.ts';
import { crashRepeatedly } from '../support/crash.ts';
import {
  JUDGE_MODEL,
  judgedPersona,
  judgedTask,
  judgeWith,
  judgings,
  readGolden,
  verdict,
  writeCurationCodex,
} from '../support/curation.ts';
import { writeGolden } from '../support/finetuneScripts.ts';
import {
  EMBED_MODEL,
  FAST_RETRY,
  REPO_ROOT,
  TEST_MODELS,
  tempFolders,
  writeTestCodex,
} from '../support/fixtures.ts';
import { startHarness } from '../support/harness.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

// Each test starts a dozen processes or more, each loading TypeScript through tsx (a cold cache on
// a fresh clone): on a loaded machine that takes minutes, not the default 30 s.
describe('a kill -9 in the middle of a write', () => {
  // The memory index: tests/integration/memoryCrash.test.ts.
  it('leaves the codex old or new, never torn', async () => {
    const folder = folders.folder();
    const codexPath = writeTestCodex(folder);
    let lastVersion = 1;
    const result = await crashRepeatedly({
      script: 'tests/support/scripts/durableWriter.ts',
      args: () => [codexPath],
      kills: 12,
      check(_attempt, completed) {
        const codex = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
        const written = completed.filter((l) => l.startsWith('codex ')).map((l) => Number(l.slice(6)));
        // The newest completed write, or the one in flight when the kill came.
        expect([written.at(-1) ?? lastVersion, (written.at(-1) ?? lastVersion) + 1]).toContain(
          codex.data.version,
        );
        lastVersion = codex.data.version;
      },
    });
    expect(result.kills).toBe(12);
    expect(lastVersion).toBeGreaterThan(1);
  }, 180_000);

  it('leaves an approval done or undone, never half: the audit trail stays whole', async () => {
    const folder = folders.folder();
    const codexPath = writeTestCodex(folder);
    const dataDir = join(folder, 'data');
    let approvedBefore = 0;
    await crashRepeatedly({
      script: 'tests/support/scripts/approvalWriter.ts',
      args: () => [dataDir, codexPath],
      kills: 20,
      maxDelayMs: 30,
      async check() {
        // A start repairs an interrupted approval: the composed runtime does what the bot does.
        const harness = await startHarness({ env: { DATA_DIR: dataDir, CODEX_PATH: codexPath } });
        try {
          const onDisk = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
          const versions = await harness.runtime.amendments.versions();
          const latest = versions.at(-1);
          expect(latest?.version).toBe(onDisk.data.version);
          expect(latest?.hash).toBe(sha256(onDisk.source));
          // Every version but the first came from an approved proposal, with its approver.
          const proposals = await harness.runtime.amendments.list(1000);
          for (const version of versions.slice(1)) {
            expect(proposals.find((p) => p.id === version.proposalId)).toMatchObject({
              state: 'approved',
              decidedBy: 'architect-1',
              newVersion: version.version,
            });
            expect(version.approvedBy).toBe('architect-1');
          }
          expect(proposals.filter((p) => p.state === 'approved')).toHaveLength(versions.length - 1);
          expect(proposals.some((p) => p.approving)).toBe(false);
          expect(versions.length - 1).toBeGreaterThanOrEqual(approvedBefore);
          approvedBefore = versions.length - 1;
        } finally {
          await harness.close();
        }
        // Leftovers the writer would trip over: pending proposals the kill interrupted are withdrawn.
        const store = await ProposalStore.open({ dataDir });
        for (const p of (await store.list(1000)).filter((p) => p.state === 'pending'))
          await store.update(p.id, () => ({ state: 'rejected' }), Date.now());
        await store.close();
      },
    });
    expect(approvedBefore).toBeGreaterThan(3);
  }, 180_000);

  it('registers a tool whole or not at all: a listed tool always has its own code', async () => {
    const folder = folders.folder();
    let seen = 0;
    await crashRepeatedly({
      script: 'tests/support/scripts/toolWriter.ts',
      args: () => [folder],
      kills: 18,
      check() {
        const registry = new ToolRegistry(folder);
        for (const tool of registry.list()) expect(sha256(tool.code)).toBe(tool.manifest.codeSha256);
        const versions = registry
          .list()
          .reduce((sum, tool) => sum + registry.versions(tool.manifest.name).length, 0);
        expect(versions).toBeGreaterThanOrEqual(seen);
        seen = versions;
      },
    });
    expect(seen).toBeGreaterThan(3);
  }, 180_000);

  it('curation writes: a kill mid-batch resumes from the cursor, with no duplicate sample and no gap', async () => {
    const folder = folders.folder();
    const codexPath = writeCurationCodex(folder);
    const dataDir = join(folder, 'data');
    const ollama = await OllamaEmulator.start({
      models: [...Object.values(TEST_MODELS), EMBED_MODEL, JUDGE_MODEL],
    });
    try {
      const DIALOGUES = 60;
      const ANCHOR = 5;
      const log = await InteractionLog.open({ dataDir });
      const ids: string[] = [];
      for (let n = 1; n <= DIALOGUES; n++) {
        const turn = (speaker: string, kind: string, output: string) => ({
          speaker,
          kind,
          system: `You are ${speaker}.`,
          prompt: `${kind} for task ${n}`,
          output,
          model: TEST_MODELS[speaker as keyof typeof TEST_MODELS],
          at: 1_700_000_000_000 + n,
        });
        const stored = await log.append({
          id: randomUUID(),
          conversationId: `c-${n}`,
          run: 1,
          task: `task ${n}`,
          answer: `answer ${n}`,
          turns: [
            turn('ALFRED', 'plan', `plan ${n}`),
            turn('BRICK', 'thesis', `thesis ${n}`),
            turn('ROBIN', 'antithesis', `antithesis ${n}\nDISSONANCE: 0.2`),
            turn('ALFRED', 'answer', `answer ${n}`),
          ],
          models: Object.values(TEST_MODELS),
          trajectory: [0.2],
          finalDissonance: 0.2,
          // Held where everyone may read it: curated under the default CURATION_SCOPE.
          visibility: 'public',
          codexVersion: 1,
          startedAt: 1_700_000_000_000,
          finishedAt: 1_700_000_000_000 + n,
        });
        expect(stored.seq).toBe(n);
        ids.push(stored.id);
      }
      await log.close();
      // A verdict for every persona that depends on the dialogue alone; every fifth of ROBIN's is garbage.
      const score = (persona: string, n: number) =>
        persona === 'ALFRED'
          ? n % 2 === 0
            ? 5
            : 3
          : persona === 'BRICK'
            ? n % 3 === 0
              ? 2
              : 4
            : n % 5 === 0
              ? -1
              : 5;
      judgeWith(ollama, (persona, request) => {
        const total = score(persona, Number(judgedTask(request).slice(5)));
        return total < 0 ? 'DISSONANCE' : verdict(total);
      });
      const turnsOf = (persona: string) => (persona === 'ALFRED' ? 2 : 1);
      const expected = (persona: string, n: number) => (score(persona, n) >= 4 ? turnsOf(persona) : 0);

      /** What a start finds: torn lines cut; then every promise the curation makes, checked. */
      const inspect = async () => {
        const golden = createGoldenStore({
          dir: join(dataDir, 'golden'),
          anchorSize: ANCHOR,
          clock: systemClock,
          logger: createSilentLogger(),
        });
        const repaired = Object.keys(await golden.repair()).length;
        const ledger = await CurationLedger.open({ dataDir });
        const cursor = await ledger.cursor();
        await ledger.close();
        for (const persona of ['ALFRED', 'BRICK', 'ROBIN']) {
          const samples = readGolden(dataDir, `${persona}.jsonl`);
          const hashes = samples.map((s) => s.meta.content_hash);
          expect(new Set(hashes).size, `${persona}: a duplicate sample`).toBe(hashes.length);
          const per = new Map<string, number>();
          for (const sample of samples)
            per.set(sample.meta.interaction_id, (per.get(sample.meta.interaction_id) ?? 0) + 1);
          ids.forEach((id, i) => {
            const n = i + 1;
            const count = per.get(id) ?? 0;
            // Up to the cursor every kept part is there, whole; past it, at most what a kill left of one run.
            if (n <= cursor)
              expect(count, `${persona} of dialogue ${n} (cursor ${cursor})`).toBe(expected(persona, n));
            else expect(count).toBeLessThanOrEqual(expected(persona, n));
          });
          const anchor = readGolden(dataDir, `${persona}.anchor.jsonl`).map((s) => s.meta.content_hash);
          expect(anchor).toEqual(hashes.slice(0, ANCHOR));
        }
        return { cursor, repaired };
      };

      let lastCursor = 0;
      let repairs = 0;
      const kills = 12;
      await crashRepeatedly({
        script: 'tests/support/scripts/curationWriter.ts',
        args: () => [dataDir, codexPath, ollama.url],
        kills,
        maxDelayMs: 400,
        async check() {
          const { cursor, repaired } = await inspect();
          expect(cursor).toBeGreaterThanOrEqual(lastCursor);
          lastCursor = cursor;
          repairs += repaired;
        },
      });
      expect(lastCursor).toBeGreaterThan(0);

      // A last, uninterrupted start finishes the log.
      const runtime = await composeRuntime(
        loadConfig({
          DATA_DIR: dataDir,
          CODEX_PATH: codexPath,
          OLLAMA_HOST: ollama.url,
          FORGE_DIR: join(folder, 'tools'),
          LOG_LEVEL: 'silent',
          CURATION_ANCHOR_SIZE: String(ANCHOR),
        }),
        createSilentLogger(),
        { retry: FAST_RETRY },
      );
      try {
        await runtime.curation.start();
        while ((await runtime.curation.run()).dialogues > 0);
      } finally {
        await runtime.close();
      }
      expect((await inspect()).cursor).toBe(DIALOGUES);
      // Each dialogue's parts judged at least once; a second judging only for a verdict a kill caught in flight.
      const asked = judgings(ollama).map((r) => `${judgedTask(r)}/${judgedPersona(r)}`);
      expect(new Set(asked).size).toBe(DIALOGUES * 3);
      expect(asked.length - DIALOGUES * 3).toBeLessThanOrEqual(kills);
      if (spawnSync('python3', ['--version']).status === 0) {
        for (const persona of ['ALFRED', 'BRICK', 'ROBIN']) {
          const checked = spawnSync(
            'python3',
            ['forge/finetune/train.py', '--check', join(dataDir, 'golden', `${persona}.jsonl`)],
            {
              cwd: REPO_ROOT,
              encoding: 'utf8',
            },
          );
          expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true });
        }
      }
      expect(repairs).toBeGreaterThanOrEqual(0);
    } finally {
      await ollama.close();
    }
  }, 300_000);

  it('ends a fine-tune the bot died in as failed at the next start: unlocked, its trainer stopped, nothing swapped', async () => {
    const folder = folders.folder();
    const codexPath = writeTestCodex(folder);
    const dataDir = join(folder, 'data');
    writeGolden(dataDir, 'ROBIN', 12);
    const emulator = await OllamaEmulator.start({ models: [...Object.values(TEST_MODELS), EMBED_MODEL] });
    try {
      await crashRepeatedly({
        script: 'tests/support/scripts/finetuneWriter.ts',
        args: () => [dataDir, codexPath, emulator.url, join(folder, 'tools')],
        kills: 3,
        async check(attempt) {
          const harness = await startHarness({ env: { DATA_DIR: dataDir, CODEX_PATH: codexPath } });
          try {
            const job = (await harness.runtime.fineTuner.jobs(1))[0];
            expect(job).toMatchObject({
              id: `ft${attempt + 1}`,
              state: 'failed',
              error: 'the bot stopped in the middle of the job',
            });
            expect(harness.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
            // The trainer the crash left behind was stopped with it.
            const pid = job?.trainerPid ?? 0;
            // Waiting for another process to end is the one wait on real time here: bounded.
            for (let tries = 0; alive(pid) && tries < 200; tries++)
              await new Promise((r) => setTimeout(r, 50));
            expect(alive(pid)).toBe(false);
          } finally {
            await harness.close();
          }
        },
      });
    } finally {
      await emulator.close();
    }
  }, 180_000);
});

/** Whether a process runs (a zombie waiting to be reaped has ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
