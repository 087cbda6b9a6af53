import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openAppStore, STATE_SCHEMA } from '../../../src/services/appStore.ts';
import { tempFolders } from '../../support/fixtures.ts';
import { useStoreBackends } from '../../support/postgres.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());
const backends = useStoreBackends();

describe.each(backends)('the state store on $name', (backend) => {
  it('keeps values across a reopen, and forgets deleted ones', async () => {
    const location = await backend.location(folders.folder());
    const store = await openAppStore(location);
    await store.set('webhook:1', { id: '1', token: 'abc' });
    await store.set('thread:2', { channelId: '3', createdAt: 4 });
    await store.set('gone', true);
    await store.delete('gone');
    await store.close();

    const again = await openAppStore(location);
    expect(await again.get('webhook:1')).toEqual({ id: '1', token: 'abc' });
    expect(await again.get('thread:2')).toEqual({ channelId: '3', createdAt: 4 });
    expect(await again.get('gone')).toBeUndefined();
    expect(await again.get('never')).toBeUndefined();
    await again.close();
  });

  it('shows one process what another wrote, while both are open', async () => {
    const location = await backend.location(folders.folder());
    const [one, two] = await Promise.all([openAppStore(location), openAppStore(location)]);
    await one.set('continuity:running', ['5', '6']);
    expect(await two.get('continuity:running')).toEqual(['5', '6']);
    await two.delete('continuity:running');
    expect(await one.get('continuity:running')).toBeUndefined();
    // Closing one leaves the other working.
    await one.close();
    await two.set('after', 1);
    expect(await two.get('after')).toBe(1);
    await two.close();
  });

  it('reports a failed read or write to its owner and to the caller', async () => {
    const reported: unknown[] = [];
    const store = await openAppStore(await backend.location(folders.folder()), (error) =>
      reported.push(error),
    );
    await store.close();
    await store.close();
    await expect(store.get('webhook:1')).rejects.toThrow();
    await expect(store.set('webhook:1', { id: '1' })).rejects.toThrow();
    expect(reported).toHaveLength(2);
  });
});

describe('the state store on sqlite', () => {
  it('reads the state an earlier version wrote through Keyv', async () => {
    const dir = folders.folder();
    // Keyv's SQLite table as it left it: namespaced keys, values wrapped and colon-escaped.
    const db = new Database(join(dir, 'state.sqlite'));
    db.exec('CREATE TABLE keyv(key VARCHAR(255) PRIMARY KEY, value TEXT )');
    const insert = db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?)');
    insert.run('bat-os:webhook:9', '{"value":{"id":"9","token":"t0k"}}');
    insert.run('bat-os:continuity:running', '{"value":["5","6"]}');
    insert.run('bat-os:odd', '{"value":"::starts with a colon"}');
    db.close();

    const store = await openAppStore({ dataDir: dir });
    expect(store.path).toBe(join(dir, 'state.sqlite'));
    expect(await store.get('webhook:9')).toEqual({ id: '9', token: 't0k' });
    expect(await store.get('continuity:running')).toEqual(['5', '6']);
    expect(await store.get('odd')).toBe(':starts with a colon');
    await store.set('odd', ':still');
    await store.close();
    const raw = new Database(join(dir, 'state.sqlite'));
    expect(raw.prepare("SELECT value FROM keyv WHERE key = 'bat-os:odd'").get()).toEqual({
      value: '{"value":"::still"}',
    });
    // The file is kept as the other stores' are: write-ahead logging, deletions overwritten.
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });
});

describe('the state store on postgres', () => {
  const postgres = backends.find((backend) => backend.name === 'postgres');

  it('keeps Keyv’s layout in a schema of its own, and never shows the password', async () => {
    const location = await postgres!.location(folders.folder());
    const store = await openAppStore(location);
    await store.set('odd', ':colon');
    expect(store.path).toContain(`schema ${STATE_SCHEMA}`);
    expect(store.path).not.toContain('batos-test');
    await store.close();
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    const { rows } = await client.query(`SELECT key, value FROM ${STATE_SCHEMA}.keyv`);
    await client.end();
    expect(rows).toEqual([{ key: 'bat-os:odd', value: '{"value":"::colon"}' }]);
  });
});
