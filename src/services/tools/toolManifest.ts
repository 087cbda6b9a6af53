import { z } from 'zod';
import { sha256 } from '../../shared/hash.ts';
import type { Logger } from '../logger.ts';

/**
 * What a forged tool is, wherever it is kept: its manifest (spec, schema, tests and results,
 * attempts, provenance) beside its code, the rules of whose it is and where it is seen, and the
 * port of the storage that keeps the versions (`ToolStorage`: a folder per tool under FORGE_DIR,
 * `toolFolder.ts`, or rows in PostgreSQL, `toolRows.ts`).
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

/**
 * Whether a new tool may become the next version of the tool whose versions are `existing`
 * (oldest first; undefined where one cannot be read): the newest is of its server, or of none,
 * and every version is its owner's (`ownerOf`). The forge names tools by this rule, and a store
 * shared by processes checks it again as it writes, under its lock.
 */
export function mayExtend(
  existing: readonly (Pick<ToolManifest, 'guildId' | 'forgedFor' | 'requestedBy'> | undefined)[],
  tool: Pick<ToolManifest, 'guildId' | 'forgedFor' | 'requestedBy'>,
): boolean {
  const newest = existing.at(-1);
  if (existing.length === 0) return true;
  if (!newest || !visibleIn(newest, tool.guildId ?? null)) return false;
  const owner = ownerOf(tool);
  return existing.every((version) => version !== undefined && ownerOf(version) === owner);
}

/** A tool's name was taken by another owner's forge between the forge's look and its write. */
export class ToolNameTaken extends Error {
  constructor(readonly toolName: string) {
    super(`the tool name "${toolName}" is another's now`);
    this.name = 'ToolNameTaken';
  }
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
  /** The version's folder (`<FORGE_DIR>/<name>/v<N>`), or in PostgreSQL its row (`<schema>.tools <name> v<N>`). */
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

/** A tool as the forge hands it over: the storage numbers its version and hashes its code. */
export type NewTool = Omit<ToolManifest, 'version' | 'codeSha256'>;

/**
 * Where the versions of the forged tools are kept. Reads are synchronous (the registry and the
 * dialogue read the shelf often); a storage shared by several processes keeps a copy in memory
 * and `refresh` brings it up to date. Writes are asynchronous and pick the version themselves,
 * so that two writers never make the same one.
 */
export interface ToolStorage {
  /** Where the tools are: the forge folder, or the server and schema (never a password). */
  readonly where: string;
  /** The tools' names. */
  names(): string[];
  /** The versions of a tool, oldest first (a version that cannot be read is still listed). */
  versions(name: string): number[];
  /** A version, or undefined when it is missing or cannot be read (a warning says why). */
  read(name: string, version: number): StoredTool | undefined;
  /** Stores a new tool, or the next version of one with its name; returns what was stored. */
  write(tool: NewTool, code: string): Promise<StoredTool>;
  /** Archives every version of a tool; returns where they went, or undefined when there is no such tool. */
  archive(name: string, at: Date): Promise<string | undefined>;
  /** How `/tools remove` tells where the versions went (`archived` is what `archive` returned). */
  archiveNote(archived: string): string;
  /** Whether another process changed the tools since the last look (the copy in memory is brought up to date). */
  refresh(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A stored version from its manifest's JSON and its code: undefined (with a warning) when the
 * manifest is damaged, a warning when the code is not what the manifest's hash says.
 */
export function parseStoredTool(
  at: { name: string; version: number; dir: string },
  manifestJson: string,
  code: string,
  logger?: Logger,
): StoredTool | undefined {
  try {
    const manifest = manifestSchema.parse(JSON.parse(manifestJson));
    if (sha256(code) !== manifest.codeSha256) {
      logger?.warn(
        { tool: at.name, version: at.version },
        'tool.js differs from its manifest hash; edited by hand?',
      );
    }
    return { manifest, code, dir: at.dir };
  } catch (error) {
    logger?.warn({ err: error, tool: at.name, version: at.version }, 'could not read a forged tool; skipped');
    return undefined;
  }
}
