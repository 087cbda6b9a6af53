import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openAppStore } from '../../../src/services/appStore.ts';
import { tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('the state store', () => {
  it('keeps values across a reopen, and forgets deleted ones', async () => {
    const dir = folders.folder();
    const store = openAppStore(dir);
    await store.set('webhook:1', { id: '1', token: 'abc' });
    await store.set('thread:2', { channelId: '3', createdAt: 4 });
    await store.set('gone', true);
    await store.delete('gone');
    await store.close();

    const again = openAppStore(dir);
    expect(await again.get('webhook:1')).toEqual({ id: '1', token: 'abc' });
    expect(await again.get('thread:2')).toEqual({ channelId: '3', createdAt: 4 });
    expect(await again.get('gone')).toBeUndefined();
    expect(await again.get('never')).toBeUndefined();
    await again.close();
  });

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

    const store = openAppStore(dir);
    expect(await store.get('webhook:9')).toEqual({ id: '9', token: 't0k' });
    expect(await store.get('continuity:running')).toEqual(['5', '6']);
    expect(await store.get('odd')).toBe(':starts with a colon');
    await store.set('odd', ':still');
    await store.close();
    const raw = new Database(join(dir, 'state.sqlite'));
    expect(raw.prepare("SELECT value FROM keyv WHERE key = 'bat-os:odd'").get()).toEqual({
      value: '{"value":"::still"}',
    });
    raw.close();
  });
});
