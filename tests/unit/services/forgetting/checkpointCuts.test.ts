import { existsSync, readFileSync } from 'node:fs';
import { emptyCheckpoint } from '@langchain/langgraph-checkpoint';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CHECKPOINT_TABLES } from '../../../../src/services/checkpointCutsPostgres.ts';
import { type CheckpointStore, openCheckpointStore } from '../../../../src/services/checkpointStore.ts';
import { CHECKPOINT_SCHEMA } from '../../../../src/services/checkpointStorePostgres.ts';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { forgottenOf } from '../../../../src/services/forgetting/forgotten.ts';
import type { DialogueRecord } from '../../../../src/services/memory/interactionLog.ts';
import { FORGOTTEN_RECOLLECTION, recollectionQuote } from '../../../../src/shared/recollection.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const secret = {
  id: 'r1',
  conversationId: 'c1',
  task: 'Where is the Quokka7Marmalade kept?',
  answer: 'In the cellar.',
  turns: [],
} as unknown as DialogueRecord;

const planPrompt = `The Architect's request:\nAnd the jam?\n\nRelated past dialogues (build on them where they help):\n- 2026-11-02 (similarity 0.90): ${recollectionQuote(secret.task, secret.answer)}\n\nDecompose this request.`;

/** A checkpoint of `thread` whose turns are `turns`, stored with a pending write of the same. */
async function stateOf(store: CheckpointStore, thread: string, turns: unknown[]) {
  const checkpoint = {
    ...emptyCheckpoint(),
    channel_values: { turns, task: 'And the jam?' },
    channel_versions: { turns: 1, task: 1 },
  };
  const config = await store.saver.put(
    { configurable: { thread_id: thread, checkpoint_ns: '' } },
    checkpoint,
    { source: 'loop', step: 1, parents: {} },
    { turns: 1, task: 1 },
  );
  await store.saver.putWrites(config, [['turns', turns]], 'task-1');
  return config;
}

/** Whether any stored byte of the checkpoints still holds `words` (the file and its log, or every table). */
async function stored(location: StoreLocation, store: CheckpointStore, words: string): Promise<boolean> {
  if (!location.databaseUrl) {
    return [store.path, `${store.path}-wal`].some(
      (file) => existsSync(file) && readFileSync(file).includes(words),
    );
  }
  const client = new pg.Client({ connectionString: location.databaseUrl });
  await client.connect();
  try {
    const holding = {
      checkpoints: 'strpos(checkpoint::text, $1) > 0 OR strpos(metadata::text, $1) > 0',
      checkpoint_blobs: "position(convert_to($1, 'UTF8') in blob) > 0",
      checkpoint_writes: "position(convert_to($1, 'UTF8') in blob) > 0",
    };
    for (const table of CHECKPOINT_TABLES) {
      const { rows } = await client.query(
        `SELECT 1 FROM "${CHECKPOINT_SCHEMA}".${table} WHERE ${holding[table]}`,
        [words],
      );
      if (rows.length > 0) return true;
    }
    return false;
  } finally {
    await client.end();
  }
}

describe.each(useStoreBackends())('forgetting in the checkpoints on $name', (backend) => {
  it('cuts a recalled dialogue from every conversation’s stored state and writes, and leaves the rest as it was', async () => {
    const location = await backend.location(folders.folder());
    const store = await openCheckpointStore(location);
    const plan = {
      speaker: 'ALFRED',
      kind: 'plan',
      content: 'A plan.',
      prompt: planPrompt,
      recalled: ['r1'],
    };
    const recalled = await stateOf(store, 't-recalling', [plan]);
    const untouched = await stateOf(store, 't-other', [
      { speaker: 'ALFRED', kind: 'plan', content: 'Other.' },
    ]);
    const before = await store.saver.getTuple(untouched);
    expect(await stored(location, store, 'Quokka7Marmalade')).toBe(true);

    expect(await store.forgetQuotes(forgottenOf('c1', [secret]))).toBe(1);

    const after = await store.saver.getTuple(recalled);
    const turns = after?.checkpoint.channel_values.turns as Array<typeof plan>;
    expect(turns[0]?.prompt).toContain(FORGOTTEN_RECOLLECTION);
    expect(turns[0]?.prompt).not.toContain('Quokka7Marmalade');
    expect(turns[0]).toMatchObject({ content: 'A plan.', recalled: ['r1'] });
    expect(JSON.stringify(after?.pendingWrites)).not.toContain('Quokka7Marmalade');
    expect(after?.checkpoint.channel_values.task).toBe('And the jam?');
    expect(await store.saver.getTuple(untouched)).toEqual(before);
    // Nothing of it in the storage: the file and its write-ahead log, or any table's rows.
    await store.close();
    expect(await stored(location, store, 'Quokka7Marmalade')).toBe(false);
  });

  it('changes nothing where nothing quotes it', async () => {
    const store = await openCheckpointStore(await backend.location(folders.folder()));
    await stateOf(store, 't', [{ speaker: 'ALFRED', kind: 'plan', content: 'Nothing recalled.' }]);
    expect(await store.forgetQuotes(forgottenOf('c1', [secret]))).toBe(0);
    await store.close();
  });
});
