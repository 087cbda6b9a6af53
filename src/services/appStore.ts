import { openDatabase } from './sqlite.ts';

/**
 * Small durable application state (webhook ids, bot threads, later proposals and cursors):
 * SQLite under `DATA_DIR/state.sqlite`. Values are JSON.
 */
export interface AppStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  readonly path: string;
  close(): Promise<void>;
}

/** Earlier versions kept this state through Keyv: the same table, keys and values, so their files still read. */
const TABLE = 'keyv';
const NAMESPACE = 'bat-os:';

// Keyv's serializer escapes a string that starts with ":" by doubling the colon.
const escapeColon = (_key: string, value: unknown) =>
  typeof value === 'string' && value.startsWith(':') ? `:${value}` : value;
const unescapeColon = (_key: string, value: unknown) =>
  typeof value === 'string' && value.startsWith(':') ? value.slice(1) : value;

/**
 * Opens (creating if need be) the state store. The bot reads and writes it a few times per
 * dialogue, so it is the same synchronous SQLite as the other stores (a statement takes
 * microseconds), in write-ahead mode.
 */
export function openAppStore(dataDir: string, onError?: (error: unknown) => void): AppStore {
  const db = openDatabase(dataDir, 'state.sqlite');
  db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE}(key VARCHAR(255) PRIMARY KEY, value TEXT )`);
  const read = db.prepare<[string], { value: string }>(`SELECT value FROM ${TABLE} WHERE key = ?`);
  const write = db.prepare<[string, string]>(
    `INSERT INTO ${TABLE} (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
  );
  const remove = db.prepare<[string]>(`DELETE FROM ${TABLE} WHERE key = ?`);
  // A failing statement is reported to the owner and rethrown to the caller, as Keyv did.
  const reported = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      onError?.(error);
      return Promise.reject(error);
    }
  };
  return {
    path: db.name,
    get: <T>(key: string) =>
      reported(() => {
        const row = read.get(NAMESPACE + key);
        return row ? ((JSON.parse(row.value, unescapeColon) as { value?: T }).value ?? undefined) : undefined;
      }),
    set: (key, value) =>
      reported(() => {
        write.run(NAMESPACE + key, JSON.stringify({ value }, escapeColon));
      }),
    delete: (key) =>
      reported(() => {
        remove.run(NAMESPACE + key);
      }),
    async close() {
      if (db.open) db.close();
    },
  };
}

/** An in-memory AppStore for unit tests. */
export function createInMemoryAppStore(): AppStore {
  const map = new Map<string, unknown>();
  return {
    path: ':memory:',
    get: async <T>(key: string) => map.get(key) as T | undefined,
    async set(key, value) {
      map.set(key, structuredClone(value));
    },
    async delete(key) {
      map.delete(key);
    },
    async close() {},
  };
}
