import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';

/**
 * Small durable application state (webhook ids, bot threads, later proposals and cursors):
 * Keyv on SQLite under `DATA_DIR/state.sqlite`. Values are JSON.
 */
export interface AppStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  readonly path: string;
  close(): Promise<void>;
}

export function openAppStore(dataDir: string, onError?: (error: unknown) => void): AppStore {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'state.sqlite');
  const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, busyTimeout: 5000 });
  const keyv = new Keyv({ store: adapter, namespace: 'bat-os' });
  keyv.on('error', (error: unknown) => onError?.(error));
  return {
    path,
    get: async <T>(key: string) => (await keyv.get<T>(key)) ?? undefined,
    async set(key, value) {
      await keyv.set(key, value);
    },
    async delete(key) {
      await keyv.delete(key);
    },
    async close() {
      await keyv.disconnect();
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
