import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sha256 } from '../../shared/hash.ts';
import { syncFolder, writeFileDurably } from '../durableWrite.ts';
import type { Logger } from '../logger.ts';
import {
  manifestSchema,
  type NewTool,
  parseStoredTool,
  type StoredTool,
  TOOL_NAME_PATTERN,
  type ToolStorage,
} from './toolManifest.ts';

/**
 * The forged tools on disk (the default), one folder per tool and one per version:
 *
 *     <FORGE_DIR>/<name>/v<N>/tool.js        the code, exactly as it passed the gates
 *     <FORGE_DIR>/<name>/v<N>/manifest.json  spec, schema, tests and results, attempts, provenance
 *
 * Readable and reviewable by a person. A version is never overwritten: the same name makes a
 * new version. Removing a tool moves its folder under `<FORGE_DIR>/.archive/`. One process
 * owns the folder: it reads it at start and knows its own writes, so `refresh` has nothing to do.
 */
export class ToolFolder implements ToolStorage {
  constructor(
    readonly dir: string,
    private readonly logger?: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get where(): string {
    return this.dir;
  }

  names(): string[] {
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && TOOL_NAME_PATTERN.test(entry.name))
      .map((entry) => entry.name);
  }

  versions(name: string): number[] {
    const dir = join(this.dir, name);
    if (!TOOL_NAME_PATTERN.test(name) || !existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .flatMap((entry) => (entry.isDirectory() ? [/^v(\d+)$/.exec(entry.name)?.[1]] : []))
      .filter((version): version is string => version !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  read(name: string, version: number): StoredTool | undefined {
    const dir = join(this.dir, name, `v${version}`);
    let manifest: string;
    let code: string;
    try {
      if (!existsSync(join(dir, 'manifest.json'))) return undefined;
      manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
      code = readFileSync(join(dir, 'tool.js'), 'utf8');
    } catch (error) {
      this.logger?.warn({ err: error, tool: name, version }, 'could not read a forged tool; skipped');
      return undefined;
    }
    return parseStoredTool({ name, version, dir }, manifest, code, this.logger);
  }

  /** Synchronous until it returns: the version is chosen and written before any other forge runs. */
  async write(tool: NewTool, code: string): Promise<StoredTool> {
    if (!TOOL_NAME_PATTERN.test(tool.name)) throw new Error(`invalid tool name "${tool.name}"`);
    const toolDir = join(this.dir, tool.name);
    mkdirSync(toolDir, { recursive: true });
    let version = (this.versions(tool.name).at(-1) ?? 0) + 1;
    let dir = join(toolDir, `v${version}`);
    // mkdir fails on an existing folder: two forges of one name never share a version.
    for (;;) {
      try {
        mkdirSync(dir);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        version++;
        dir = join(toolDir, `v${version}`);
      }
    }
    const full = manifestSchema.parse({ ...tool, version, codeSha256: sha256(code) });
    writeFileDurably(join(dir, 'tool.js'), code);
    // The manifest comes last and atomically: a version without one is not loaded.
    writeFileDurably(join(dir, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`);
    return { manifest: full, code, dir };
  }

  async archive(name: string, at: Date): Promise<string | undefined> {
    const archive = join(this.dir, '.archive');
    mkdirSync(archive, { recursive: true });
    const target = join(archive, `${name}-${at.toISOString().replace(/[:.]/g, '-')}`);
    renameSync(join(this.dir, name), target);
    syncFolder(this.dir);
    return target;
  }

  archiveNote(archived: string): string {
    return `Its files are archived in \`${relative(this.dir, archived)}\` under the forge folder.`;
  }

  async refresh(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {}
}
