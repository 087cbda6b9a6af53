import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/services/sqlite.ts';
import { SqliteStore } from '../../../src/services/sqliteStore.ts';
import { REPO_ROOT, tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

interface Note {
  id: string;
  state: string;
  text: string;
  updatedAt: number;
}

/** The smallest store over the base: notes as JSON documents. */
class NoteStore extends SqliteStore {
  constructor(dataDir: string) {
    super(
      dataDir,
      'notes.sqlite',
      `CREATE TABLE IF NOT EXISTS notes (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         id TEXT NOT NULL UNIQUE,
         state TEXT NOT NULL,
         data TEXT NOT NULL
       );`,
    );
  }
  add(text: string): Note {
    const note: Note = { id: `n${this.lastSeq('notes') + 1}`, state: 'open', text, updatedAt: 0 };
    this.run(
      'INSERT INTO notes (id, state, data) VALUES (?, ?, ?)',
      note.id,
      note.state,
      JSON.stringify(note),
    );
    return note;
  }
  get(id: string): Note | undefined {
    return this.document<Note>('SELECT data FROM notes WHERE id = ?', id);
  }
  finish(id: string, at: number): Note {
    return this.updateDocument('notes', this.get(id) as Note, { state: 'closed' }, at);
  }
  byState(state: string): Note[] {
    return this.documents<Note>('SELECT data FROM notes WHERE state = ? ORDER BY seq', state);
  }
  remove(id: string): void {
    this.run('DELETE FROM notes WHERE id = ?', id);
  }
  /** Adds every text, or none when one is empty. */
  addAll(texts: string[]): void {
    this.transaction(() => {
      for (const text of texts) {
        if (!text) throw new Error('an empty note');
        this.add(text);
      }
    }, 'immediate');
  }
}

describe('a store over its own SQLite file', () => {
  it('keeps its documents across a reopen, numbering them on from the last', () => {
    const dir = folders.folder();
    const store = new NoteStore(dir);
    expect(store.add('first').id).toBe('n1');
    expect(store.add('second').id).toBe('n2');
    expect(store.finish('n1', 42)).toEqual({ id: 'n1', state: 'closed', text: 'first', updatedAt: 42 });
    store.close();

    const again = new NoteStore(dir);
    expect(again.get('n1')).toEqual({ id: 'n1', state: 'closed', text: 'first', updatedAt: 42 });
    expect(again.byState('open').map((n) => n.text)).toEqual(['second']);
    expect(again.add('third').id).toBe('n3');
    expect(again.get('n9')).toBeUndefined();
    again.close();
  });

  it('writes all of a transaction or nothing of it', () => {
    const store = new NoteStore(folders.folder());
    expect(() => store.addAll(['a', '', 'c'])).toThrow('an empty note');
    expect(store.byState('open')).toEqual([]);
    store.addAll(['a', 'b']);
    expect(store.byState('open').map((n) => n.text)).toEqual(['a', 'b']);
    store.close();
  });

  it('may be closed twice', () => {
    const store = new NoteStore(folders.folder());
    store.close();
    expect(() => store.close()).not.toThrow();
  });
});

describe('what a store deletes', () => {
  it('every database opens through one door, which turns secure_delete on', () => {
    const db = openDatabase(folders.folder(), 'any.sqlite');
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    db.close();
    const sources = readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => /new Database\(/.test(readFileSync(join(REPO_ROOT, 'src', file), 'utf8')));
    expect(sources).toEqual([join('services', 'sqlite.ts')]);
  });

  /** Whether the database file or its write-ahead log holds `text`. */
  const onDisk = (dir: string, text: string) =>
    ['notes.sqlite', 'notes.sqlite-wal'].filter((file) => {
      const path = join(dir, file);
      return existsSync(path) && readFileSync(path).includes(Buffer.from(text));
    });

  it('is overwritten in the file (secure_delete), and gone from the write-ahead log once it is emptied', () => {
    const dir = folders.folder();
    const store = new NoteStore(dir);
    const kept = store.add('an ordinary note');
    const secret = store.add('Quokka7Marmalade lives here');
    expect(onDisk(dir, 'Quokka7Marmalade')).not.toEqual([]);
    store.remove(secret.id);
    // The log still holds the page as it was before the delete.
    expect(onDisk(dir, 'Quokka7Marmalade')).toEqual(['notes.sqlite-wal']);
    expect(store.truncateWal()).toBe(true);
    expect(onDisk(dir, 'Quokka7Marmalade')).toEqual([]);
    expect(store.get(kept.id)?.text).toBe('an ordinary note');
    store.close();
  });
});
