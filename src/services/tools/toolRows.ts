import { sha256 } from '../../shared/hash.ts';
import type { Migration } from '../db/migrations.ts';
import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { SqlStore } from '../db/sqlStore.ts';
import type { Logger } from '../logger.ts';
import type { ToolFolder } from './toolFolder.ts';
import {
  manifestSchema,
  mayExtend,
  type NewTool,
  parseStoredTool,
  type StoredTool,
  TOOL_NAME_PATTERN,
  ToolNameTaken,
  type ToolStorage,
} from './toolManifest.ts';

/**
 * The forged tools as rows, with `DATABASE_URL` (schema `batos_tools`): every process that
 * shares the database sees a tool another one forged, without a folder they must all mount.
 * A row is what a version's folder holds: the manifest's JSON and the code, exactly as they
 * passed the gates. Removing a tool moves its rows to `archived_tools`.
 *
 * Each process keeps every version in memory (tools are few and small; the dialogue reads the
 * shelf at every turn) and brings it up to date when the shelf's change counter, bumped in the
 * same transaction as every write, is not the one it last read: one small read per look.
 */

interface ToolRow {
  name: string;
  version: number;
  manifest: string;
  code: string;
}

const TOOLS_LOCK = 'bat-os:tools';

const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tools, their archive, and the shelf’s change counter',
    async up(tx) {
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS tools (
          name TEXT NOT NULL, version BIGINT NOT NULL, manifest TEXT NOT NULL, code TEXT NOT NULL,
          PRIMARY KEY (name, version));
        CREATE TABLE IF NOT EXISTS archived_tools (
          name TEXT NOT NULL, version BIGINT NOT NULL, archived_at BIGINT NOT NULL,
          manifest TEXT NOT NULL, code TEXT NOT NULL,
          PRIMARY KEY (name, archived_at, version));
        CREATE TABLE IF NOT EXISTS tool_changes (id BIGINT PRIMARY KEY, counter BIGINT NOT NULL);
        INSERT INTO tool_changes (id, counter) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;`);
    },
  },
];

/** A stored manifest, or undefined when it cannot be read (such a version is nobody's: `mayExtend`). */
function manifestOf(json: string) {
  try {
    return manifestSchema.parse(JSON.parse(json));
  } catch {
    return undefined;
  }
}

/** Counts a change to the shelf; returns the new count. */
async function bump(tx: SqlSession): Promise<number> {
  const row = await tx.get<{ counter: number }>(
    'UPDATE tool_changes SET counter = counter + 1 WHERE id = 1 RETURNING counter',
  );
  return Number(row?.counter);
}

export class ToolRows extends SqlStore implements ToolStorage {
  /** Every version in memory, by name and version. */
  private shelf = new Map<string, Map<number, ToolRow>>();
  /** The change counter the copy in memory matches. */
  private seen = -1;

  private constructor(
    db: SqlDatabase,
    private readonly logger?: Logger,
  ) {
    super(db);
  }

  /**
   * Opens the tools' tables where `location` says (in the bot: PostgreSQL) and reads them. A
   * database that has never held a tool takes in the versions of `importFrom` (FORGE_DIR, from
   * before the bot moved to PostgreSQL), once; the folder is left as it was.
   */
  static async open(
    location: StoreLocation,
    options: { logger?: Logger; importFrom?: ToolFolder } = {},
  ): Promise<ToolRows> {
    const db = await openStoreDatabase(location, { file: 'tools.sqlite', schema: 'tools', migrations });
    const rows = new ToolRows(db, options.logger);
    try {
      if (options.importFrom) await rows.importFolder(options.importFrom);
      await rows.refresh();
    } catch (error) {
      await db.close();
      throw error;
    }
    return rows;
  }

  names(): string[] {
    return [...this.shelf.keys()];
  }

  versions(name: string): number[] {
    return [...(this.shelf.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  read(name: string, version: number): StoredTool | undefined {
    const row = this.shelf.get(name)?.get(version);
    return (
      row &&
      parseStoredTool({ name, version, dir: this.dirOf(name, version) }, row.manifest, row.code, this.logger)
    );
  }

  async write(tool: NewTool, code: string): Promise<StoredTool> {
    if (!TOOL_NAME_PATTERN.test(tool.name)) throw new Error(`invalid tool name "${tool.name}"`);
    // The next version and its row in one transaction under the tools' lock: two processes
    // forging the same name make two versions, never one twice; and a name another owner took
    // since the forge looked is refused (the forge picks another), never extended.
    const { row, counter, stored } = await this.transaction(async (tx) => {
      const versions = await tx.all<{ version: number; manifest: string }>(
        'SELECT version, manifest FROM tools WHERE name = ? ORDER BY version',
        [tool.name],
      );
      const manifests = versions.map((v) => manifestOf(v.manifest));
      if (!mayExtend(manifests, tool)) throw new ToolNameTaken(tool.name);
      const version = Number(versions.at(-1)?.version ?? 0) + 1;
      const manifest = manifestSchema.parse({ ...tool, version, codeSha256: sha256(code) });
      const written: ToolRow = { name: tool.name, version, manifest: JSON.stringify(manifest), code };
      await tx.run('INSERT INTO tools (name, version, manifest, code) VALUES (?, ?, ?, ?)', [
        written.name,
        written.version,
        written.manifest,
        written.code,
      ]);
      return {
        row: written,
        counter: await bump(tx),
        stored: { manifest, code, dir: this.dirOf(tool.name, version) },
      };
    }, TOOLS_LOCK);
    this.keep(row);
    // Only our write since the last look: the copy is current. Otherwise the next look reloads it.
    if (counter === this.seen + 1) this.seen = counter;
    return stored;
  }

  async archive(name: string, at: Date): Promise<string | undefined> {
    const archived = await this.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO archived_tools (name, version, archived_at, manifest, code) SELECT name, version, ?, manifest, code FROM tools WHERE name = ?',
        [at.getTime(), name],
      );
      const { changes } = await tx.run('DELETE FROM tools WHERE name = ?', [name]);
      return changes > 0 ? bump(tx) : undefined;
    }, TOOLS_LOCK);
    if (archived === undefined) return undefined;
    this.shelf.delete(name);
    if (archived === this.seen + 1) this.seen = archived;
    return `${this.where} archived_tools ${name}-${at.toISOString()}`;
  }

  archiveNote(): string {
    return 'Its versions are archived in the database (table `archived_tools`).';
  }

  async refresh(): Promise<boolean> {
    const current = await this.row<{ counter: number }>('SELECT counter FROM tool_changes WHERE id = 1');
    const counter = Number(current?.counter ?? 0);
    if (counter === this.seen) return false;
    // The counter first, the rows after: a change in between is read now and read again next time.
    const rows = await this.rows<ToolRow>('SELECT name, version, manifest, code FROM tools');
    this.shelf = new Map();
    for (const row of rows) this.keep({ ...row, version: Number(row.version) });
    this.seen = counter;
    return true;
  }

  /** Copies the folder's versions into a database that has never held a tool (its counter still 0). */
  private async importFolder(folder: ToolFolder): Promise<void> {
    const imported = await this.transaction(async (tx) => {
      const changes = await tx.get<{ counter: number }>('SELECT counter FROM tool_changes WHERE id = 1');
      if (Number(changes?.counter ?? 0) !== 0) return 0;
      let count = 0;
      for (const name of folder.names()) {
        for (const version of folder.versions(name)) {
          const tool = folder.read(name, version);
          if (!tool) continue;
          await tx.run('INSERT INTO tools (name, version, manifest, code) VALUES (?, ?, ?, ?)', [
            name,
            version,
            JSON.stringify(tool.manifest),
            tool.code,
          ]);
          count++;
        }
      }
      if (count > 0) await bump(tx);
      return count;
    }, TOOLS_LOCK);
    if (imported > 0) {
      this.logger?.info(
        { versions: imported, from: folder.where },
        'forged tools imported into the database',
      );
    }
  }

  private keep(row: ToolRow): void {
    let versions = this.shelf.get(row.name);
    if (!versions) {
      versions = new Map();
      this.shelf.set(row.name, versions);
    }
    versions.set(row.version, row);
  }

  private dirOf(name: string, version: number): string {
    return `${this.where} tools ${name} v${version}`;
  }
}
