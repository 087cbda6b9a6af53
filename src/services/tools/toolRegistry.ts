import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { sha256 } from '../../shared/hash.ts';
import { syncFolder, writeFileDurably } from '../durableWrite.ts';
import type { Logger } from '../logger.ts';

/**
 * The forged tools on disk, one folder per tool and one per version:
 *
 *     <FORGE_DIR>/<name>/v<N>/tool.js        the code, exactly as it passed the gates
 *     <FORGE_DIR>/<name>/v<N>/manifest.json  spec, schema, tests and results, attempts, provenance
 *
 * Readable and reviewable by a person. A version is never overwritten: the same name makes a
 * new version (the forge only lets a tool's owner do that: see `ownerOf`). Removing a tool moves
 * its folder under `<FORGE_DIR>/.archive/`.
 */

export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]{1,47}$/;

const testSchema = z.object({
  input: z.unknown(),
  expected: z.unknown(),
  heldOut: z.boolean(),
  passed: z.boolean(),
  actual: z.unknown().optional(),
  error: z.string().optional(),
  ms: z.number().optional(),
});

const attemptSchema = z.object({
  round: z.number().int(),
  stage: z.enum(['design', 'generate', 'static', 'sandbox']),
  error: z.string(),
});

export const manifestSchema = z.object({
  name: z.string().regex(TOOL_NAME_PATTERN),
  version: z.number().int().positive(),
  description: z.string().min(1),
  spec: z.string(),
  entry: z.literal('run'),
  inputSchema: z.record(z.string(), z.unknown()),
  tests: z.array(testSchema),
  attempts: z.array(attemptSchema),
  rounds: z.number().int().nonnegative(),
  model: z.string(),
  codexVersion: z.number(),
  createdAt: z.string(),
  /** The persona that asked (a dialogue's forge), or the member who ran `/tools forge`. */
  requestedBy: z.string(),
  /** The member it was forged for (see {@link ownerOf}); none: the operator's. */
  forgedFor: z.string().optional(),
  conversationId: z.string().optional(),
  /** The server it was forged in: offered and listed there only. None: forged outside a server, offered everywhere. */
  guildId: z.string().optional(),
  /**
   * The place it was forged in (a channel, or a private thread): shown and offered only where all
   * readers may read that place. None: forged outside Discord, or before places were kept.
   */
  channelId: z.string().optional(),
  codeSha256: z.string(),
});

export type ToolManifest = z.infer<typeof manifestSchema>;

/**
 * Which tools a place sees: a server sees the tools forged in it and those forged outside any
 * server; the operator's own programs (terminal chat, `npm run tool`: `guildId` undefined) see all.
 * A tool's spec may quote a private dialogue of its server, so it never reaches another one.
 */
export function visibleIn(
  manifest: Pick<ToolManifest, 'guildId'>,
  guildId: string | null | undefined,
): boolean {
  if (guildId === undefined) return true;
  return manifest.guildId === undefined || manifest.guildId === guildId;
}

/** A Discord user id, as `/tools forge` recorded its requester before `forgedFor` was kept. */
const DISCORD_ID = /^\d{15,21}$/;

/**
 * Whose a tool version is: the member it was forged for (who sent the message the dialogue
 * answered, or ran `/tools forge`). A version from before that was recorded belongs to the member
 * in `requestedBy` when it names one; otherwise (the operator's, or a dialogue's whose member was
 * not recorded) to nobody in particular: undefined, like the operator's own forges.
 *
 * The rule it serves: a tool gains a new version only from its owner's forge. Anyone else's forge
 * of the same name gets a name of its own (`word_count_2`), so that a member's dialogue never
 * changes what another member, or the architect, made (the architect removes a tool with
 * `/tools remove` instead).
 */
export function ownerOf(manifest: Pick<ToolManifest, 'forgedFor' | 'requestedBy'>): string | undefined {
  if (manifest.forgedFor !== undefined) return manifest.forgedFor;
  return DISCORD_ID.test(manifest.requestedBy) ? manifest.requestedBy : undefined;
}

/** Whether a tool was forged in one of `channelIds` (absent: anywhere); a tool of no known place passes. */
export function forgedIn(
  manifest: Pick<ToolManifest, 'channelId'>,
  channelIds: readonly string[] | undefined,
): boolean {
  return !channelIds || manifest.channelId === undefined || channelIds.includes(manifest.channelId);
}

export type ToolTestRecord = z.infer<typeof testSchema>;
export type ForgeAttempt = z.infer<typeof attemptSchema>;

export interface StoredTool {
  manifest: ToolManifest;
  code: string;
  /** The version's folder. */
  dir: string;
}

/** A model's idea of a name, made into a tool name: `Word Count!` → `word_count`. */
export function toToolName(raw: string): string {
  const slug = raw
    .normalize('NFKD')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+|_+$/g, '')
    .slice(0, 48)
    .replace(/_+$/, '');
  return TOOL_NAME_PATTERN.test(slug) ? slug : `tool_${slug}`.slice(0, 48).replace(/_+$/, '') || 'tool';
}

export class ToolRegistry {
  private readonly tools = new Map<string, StoredTool>();

  constructor(
    readonly dir: string,
    private readonly logger?: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    this.reload();
  }

  /** Reads every tool's newest readable version from disk; an unreadable one is skipped with a warning. */
  reload(): void {
    this.tools.clear();
    for (const name of this.names()) {
      for (const version of this.versions(name).reverse()) {
        const tool = this.read(name, version);
        if (tool) {
          this.tools.set(name, tool);
          break;
        }
      }
    }
  }

  /** The newest version of every tool, by name. */
  list(): StoredTool[] {
    return [...this.tools.values()].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  }

  get(name: string, version?: number): StoredTool | undefined {
    if (version === undefined) return this.tools.get(name);
    return this.read(name, version);
  }

  /** The versions of a tool on disk, oldest first. */
  versions(name: string): number[] {
    const dir = join(this.dir, name);
    if (!TOOL_NAME_PATTERN.test(name) || !existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .flatMap((entry) => (entry.isDirectory() ? [/^v(\d+)$/.exec(entry.name)?.[1]] : []))
      .filter((version): version is string => version !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * Whether `owner` may add a version to the tool `name`: every version on disk is theirs (see
   * {@link ownerOf}). A version that cannot be read is nobody's, so it keeps the name from others.
   */
  ownedBy(name: string, owner: string | undefined): boolean {
    return this.versions(name).every((version) => {
      const tool = this.read(name, version);
      return tool !== undefined && ownerOf(tool.manifest) === owner;
    });
  }

  /** Writes a new tool, or a new version of one with the same name; returns what was stored. */
  register(manifest: Omit<ToolManifest, 'version' | 'codeSha256'>, code: string): StoredTool {
    if (!TOOL_NAME_PATTERN.test(manifest.name)) throw new Error(`invalid tool name "${manifest.name}"`);
    const toolDir = join(this.dir, manifest.name);
    mkdirSync(toolDir, { recursive: true });
    let version = (this.versions(manifest.name).at(-1) ?? 0) + 1;
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
    const full = manifestSchema.parse({ ...manifest, version, codeSha256: sha256(code) });
    writeFileDurably(join(dir, 'tool.js'), code);
    // The manifest comes last and atomically: a version without one is not loaded.
    writeFileDurably(join(dir, 'manifest.json'), `${JSON.stringify(full, null, 2)}\n`);
    const stored = { manifest: full, code, dir };
    this.tools.set(full.name, stored);
    return stored;
  }

  /** Moves a tool (every version) under `.archive/`; returns the archive folder, or undefined. */
  remove(name: string, at: Date = new Date()): string | undefined {
    if (!this.tools.has(name) && this.versions(name).length === 0) return undefined;
    const archive = join(this.dir, '.archive');
    mkdirSync(archive, { recursive: true });
    const target = join(archive, `${name}-${at.toISOString().replace(/[:.]/g, '-')}`);
    renameSync(join(this.dir, name), target);
    syncFolder(this.dir);
    this.tools.delete(name);
    return target;
  }

  private names(): string[] {
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && TOOL_NAME_PATTERN.test(entry.name))
      .map((entry) => entry.name);
  }

  private read(name: string, version: number): StoredTool | undefined {
    const dir = join(this.dir, name, `v${version}`);
    try {
      if (!existsSync(join(dir, 'manifest.json'))) return undefined;
      const manifest = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
      const code = readFileSync(join(dir, 'tool.js'), 'utf8');
      if (sha256(code) !== manifest.codeSha256) {
        this.logger?.warn({ tool: name, version }, 'tool.js differs from its manifest hash; edited by hand?');
      }
      return { manifest, code, dir };
    } catch (error) {
      this.logger?.warn({ err: error, tool: name, version }, 'could not read a forged tool; skipped');
      return undefined;
    }
  }
}
