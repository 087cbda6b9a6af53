import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { KEEP_CHECKPOINTS, openCheckpointStore } from '../../../src/services/checkpointStore.ts';
import { CHECKPOINT_SCHEMA } from '../../../src/services/checkpointStorePostgres.ts';
import { tempFolders } from '../../support/fixtures.ts';
import { useStoreBackends } from '../../support/postgres.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());
const backends = useStoreBackends();

/** A conversation in miniature: each run adds what was said and the node's echo of it. */
const State = Annotation.Root({
  said: Annotation<string[]>({ reducer: (all, more) => all.concat(more), default: () => [] }),
});
const echoGraph = (saver: BaseCheckpointSaver) =>
  new StateGraph(State)
    .addNode('echo', (state) => ({ said: [`echo of ${state.said.at(-1)}`] }))
    .addEdge(START, 'echo')
    .addEdge('echo', END)
    .compile({ checkpointer: saver });

const conversation = (id: string) => ({ configurable: { thread_id: id } });

async function count<T>(items: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of items) n++;
  return n;
}

describe.each(backends)('the checkpoint store on $name', (backend) => {
  it('keeps only the newest checkpoints of a conversation, and its whole state', async () => {
    const store = await openCheckpointStore(await backend.location(folders.folder()));
    const graph = echoGraph(store.saver);
    for (const word of ['one', 'two', 'three', 'four'])
      await graph.invoke({ said: [word] }, conversation('long'));
    expect(await count(store.saver.list(conversation('long')))).toBe(KEEP_CHECKPOINTS);
    expect((await graph.getState(conversation('long'))).values.said).toEqual([
      'one',
      'echo of one',
      'two',
      'echo of two',
      'three',
      'echo of three',
      'four',
      'echo of four',
    ]);
    await store.close();
    await store.close();
  });

  it('continues a conversation written through one process’s store in another’s, both open', async () => {
    const location = await backend.location(folders.folder());
    const [first, second] = await Promise.all([openCheckpointStore(location), openCheckpointStore(location)]);
    await echoGraph(first.saver).invoke({ said: ['hello'] }, conversation('t'));
    await echoGraph(second.saver).invoke({ said: ['again'] }, conversation('t'));
    const expected = ['hello', 'echo of hello', 'again', 'echo of again'];
    expect((await echoGraph(first.saver).getState(conversation('t'))).values.said).toEqual(expected);
    await first.close();
    // After the first process is gone, a restarted one reads it all.
    const restarted = await openCheckpointStore(location);
    expect((await echoGraph(restarted.saver).getState(conversation('t'))).values.said).toEqual(expected);
    await Promise.all([second.close(), restarted.close()]);
  });

  it('deletes a conversation’s state and leaves the others', async () => {
    const store = await openCheckpointStore(await backend.location(folders.folder()));
    const graph = echoGraph(store.saver);
    await graph.invoke({ said: ['forget me'] }, conversation('gone'));
    await graph.invoke({ said: ['keep me'] }, conversation('kept'));
    await store.saver.deleteThread('gone');
    expect(await store.saver.getTuple(conversation('gone'))).toBeUndefined();
    expect((await graph.getState(conversation('kept'))).values.said).toEqual(['keep me', 'echo of keep me']);
    await store.close();
  });
});

describe('the checkpoint store on postgres', () => {
  const postgres = backends.find((backend) => backend.name === 'postgres');

  it('drops the blobs of the checkpoints it pruned, and sets up its schema once when processes start together', async () => {
    const location = await postgres!.location(folders.folder());
    const stores = await Promise.all([1, 2, 3].map(() => openCheckpointStore(location)));
    const graph = echoGraph(stores[0]!.saver);
    for (let i = 0; i < 6; i++) await graph.invoke({ said: [`word ${i}`] }, conversation('long'));
    const client = new pg.Client({ connectionString: location.databaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT channel, count(*)::int AS versions FROM "${CHECKPOINT_SCHEMA}".checkpoint_blobs WHERE thread_id = 'long' GROUP BY channel ORDER BY channel`,
    );
    const migrations = await client.query(`SELECT v FROM "${CHECKPOINT_SCHEMA}".checkpoint_migrations`);
    await client.end();
    // Each kept checkpoint holds at most one version of a channel: the older ones are gone.
    for (const row of rows) expect(row.versions).toBeLessThanOrEqual(KEEP_CHECKPOINTS);
    expect(rows.find((row) => row.channel === 'said')).toBeDefined();
    const versions = migrations.rows.map((row) => row.v as number);
    expect(new Set(versions).size).toBe(versions.length);
    expect(stores[0]!.path).toContain(`schema ${CHECKPOINT_SCHEMA}`);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('says plainly when the database cannot be reached', async () => {
    await expect(
      openCheckpointStore({
        dataDir: folders.folder(),
        databaseUrl: 'postgres://nobody:secret@127.0.0.1:1/none',
      }),
    ).rejects.toMatchObject({ code: 'DATABASE_UNREACHABLE' });
  });
});
