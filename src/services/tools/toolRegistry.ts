import type { StoreLocation } from '../db/openStoreDatabase.ts';
import type { Logger } from '../logger.ts';
import { ToolFolder } from './toolFolder.ts';
import {
  type NewTool,
  ownerOf,
  type StoredTool,
  TOOL_NAME_PATTERN,
  type ToolStorage,
} from './toolManifest.ts';

export {
  type ForgeAttempt,
  forgedIn,
  manifestSchema,
  mayExtend,
  type NewTool,
  ownerOf,
  type StoredTool,
  TOOL_NAME_PATTERN,
  type ToolManifest,
  ToolNameTaken,
  type ToolTestRecord,
  toToolName,
  visibleIn,
} from './toolManifest.ts';

/**
 * The forged tools: the newest version of each, at hand for the dialogue, over the storage that
 * keeps every version. By default a folder per tool under FORGE_DIR (`toolFolder.ts`), readable
 * and reviewable by a person; with `DATABASE_URL`, rows in PostgreSQL (`toolRows.ts`), so that
 * every process sees a tool another one forged or removed (at its next `refresh`), with no
 * shared folder to mount. A version is never overwritten: the same name makes a new version
 * (the forge only lets a tool's owner do that: see `ownerOf`). Removing a tool archives it.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, StoredTool>();
  private readonly storage: ToolStorage;

  /** The tools in the folder `dir` (created if need be), or in the storage given. */
  constructor(
    dirOrStorage: string | ToolStorage,
    private readonly logger?: Logger,
  ) {
    this.storage = typeof dirOrStorage === 'string' ? new ToolFolder(dirOrStorage, logger) : dirOrStorage;
    this.reload();
  }

  /**
   * The registry the settings ask for: FORGE_DIR, or with `DATABASE_URL` the database (which
   * takes in FORGE_DIR's tools the first time, when it has never held one).
   */
  static async open(options: {
    forgeDir: string;
    location: StoreLocation;
    logger?: Logger;
  }): Promise<ToolRegistry> {
    const { forgeDir, location, logger } = options;
    if (!location.databaseUrl) return new ToolRegistry(forgeDir, logger);
    const { ToolRows } = await import('./toolRows.ts');
    const rows = await ToolRows.open(location, {
      ...(logger ? { logger } : {}),
      importFrom: new ToolFolder(forgeDir, logger),
    });
    return new ToolRegistry(rows, logger);
  }

  /** Where the tools are kept: the forge folder, or the server and schema. */
  get dir(): string {
    return this.storage.where;
  }

  /** Reads every tool's newest readable version from the storage; an unreadable one is skipped with a warning. */
  reload(): void {
    this.tools.clear();
    for (const name of this.storage.names()) {
      for (const version of this.storage.versions(name).reverse()) {
        const tool = this.storage.read(name, version);
        if (tool) {
          this.tools.set(name, tool);
          break;
        }
      }
    }
  }

  /**
   * Takes in what other processes forged or removed since the last look (with PostgreSQL; a
   * folder has one process). A database that does not answer leaves the shelf as it was.
   */
  async refresh(): Promise<void> {
    try {
      if (await this.storage.refresh()) this.reload();
    } catch (error) {
      this.logger?.warn(
        { err: error },
        'could not look for tools forged elsewhere; the known ones stay offered',
      );
    }
  }

  /** The newest version of every tool, by name. */
  list(): StoredTool[] {
    return [...this.tools.values()].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
  }

  get(name: string, version?: number): StoredTool | undefined {
    if (version === undefined) return this.tools.get(name);
    return this.storage.read(name, version);
  }

  /** The versions of a tool, oldest first. */
  versions(name: string): number[] {
    return TOOL_NAME_PATTERN.test(name) ? this.storage.versions(name) : [];
  }

  /**
   * Whether `owner` may add a version to the tool `name`: every version stored is theirs (see
   * {@link ownerOf}). A version that cannot be read is nobody's, so it keeps the name from others.
   */
  ownedBy(name: string, owner: string | undefined): boolean {
    return this.versions(name).every((version) => {
      const tool = this.storage.read(name, version);
      return tool !== undefined && ownerOf(tool.manifest) === owner;
    });
  }

  /**
   * Writes a new tool, or a new version of one with the same name; returns what was stored. In a
   * folder it is written before this returns its promise: no other forge of this process runs
   * in between.
   */
  async register(manifest: NewTool, code: string): Promise<StoredTool> {
    if (!TOOL_NAME_PATTERN.test(manifest.name)) throw new Error(`invalid tool name "${manifest.name}"`);
    const stored = await this.storage.write(manifest, code);
    this.tools.set(stored.manifest.name, stored);
    return stored;
  }

  /** Archives a tool (every version); returns where it went, or undefined when there is no such tool. */
  async remove(name: string, at: Date = new Date()): Promise<string | undefined> {
    if (!this.tools.has(name) && this.versions(name).length === 0) return undefined;
    const archived = await this.storage.archive(name, at);
    this.tools.delete(name);
    return archived;
  }

  /** How `/tools remove` tells where a removed tool's versions went. */
  archiveNote(archived: string): string {
    return this.storage.archiveNote(archived);
  }

  close(): Promise<void> {
    return this.storage.close();
  }
}
