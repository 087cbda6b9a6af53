import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCodex } from '../../src/services/codex/loadCodex.ts';
import { ProposalStore } from '../../src/services/governance/proposalStore.ts';
import { ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { sha256 } from '../../src/shared/hash.ts';
import { crashRepeatedly } from '../support/crash.ts';
import { tempFolders, writeTestCodex } from '../support/fixtures.ts';
import { startHarness } from '../support/harness.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

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
});
