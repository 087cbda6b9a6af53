import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCodex } from '../../src/services/codex/loadCodex.ts';
import { ProposalStore } from '../../src/services/governance/proposalStore.ts';
import { VectorIndex } from '../../src/services/memory/vectorIndex.ts';
import { ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { sha256 } from '../../src/shared/hash.ts';
import { crashRepeatedly } from '../support/crash.ts';
import { writeGolden } from '../support/finetuneScripts.ts';
import { EMBED_MODEL, TEST_MODELS, tempFolders, writeTestCodex } from '../support/fixtures.ts';
import { startHarness } from '../support/harness.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('a kill -9 in the middle of a write', () => {
  it('leaves the codex and the memory index old or new, never torn', async () => {
    const folder = folders.folder();
    const codexPath = writeTestCodex(folder);
    let lastVersion = 1;
    let lastSize = 0;
    const result = await crashRepeatedly({
      script: 'tests/support/scripts/durableWriter.ts',
      args: () => [folder, codexPath],
      kills: 12,
      check(_attempt, completed) {
        const codex = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
        const written = completed.filter((l) => l.startsWith('codex ')).map((l) => Number(l.slice(6)));
        // The newest completed write, or the one in flight when the kill came.
        expect([written.at(-1) ?? lastVersion, (written.at(-1) ?? lastVersion) + 1]).toContain(
          codex.data.version,
        );
        lastVersion = codex.data.version;
        const index = new VectorIndex({ dir: join(folder, 'memory') });
        expect(index.load()).not.toBe('corrupt');
        const sizes = completed.filter((l) => l.startsWith('index ')).map((l) => Number(l.slice(6)));
        expect(index.size).toBeGreaterThanOrEqual(sizes.at(-1) ?? lastSize);
        lastSize = index.size;
      },
    });
    expect(result.kills).toBe(12);
    expect(lastVersion).toBeGreaterThan(1);
  });

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
          const versions = harness.runtime.amendments.versions();
          const latest = versions.at(-1);
          expect(latest?.version).toBe(onDisk.data.version);
          expect(latest?.hash).toBe(sha256(onDisk.source));
          // Every version but the first came from an approved proposal, with its approver.
          const proposals = harness.runtime.amendments.list(1000);
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
        const store = new ProposalStore(dataDir);
        for (const p of store.list(1000).filter((p) => p.state === 'pending'))
          store.update(p.id, () => ({ state: 'rejected' }), Date.now());
        store.close();
      },
    });
    expect(approvedBefore).toBeGreaterThan(3);
  });

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
  });

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
            const job = harness.runtime.fineTuner.jobs(1)[0];
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
  });
});

/** Whether a process runs (a zombie waiting to be reaped has ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
