import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import * as vitest from 'vitest';
import { type CheckpointStore, openCheckpointStore } from '../../../src/services/checkpointStore.ts';
import { tempFolders } from '../../support/fixtures.ts';
import { type StoreBackend, useStoreBackends } from '../../support/postgres.ts';

/**
 * LangGraph's own conformance suite for checkpointers (`@langchain/langgraph-checkpoint-validation`),
 * run against the savers we configure, on both backends. The suite is written for Vitest's
 * globals, which this project does not turn on: it finds them on `globalThis`, set here before it
 * loads.
 */
const { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } = vitest;
Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test });
const { specTest } = await import('@langchain/langgraph-checkpoint-validation');

const folders = tempFolders();
afterAll(() => folders.cleanup());
const backends = useStoreBackends();

function initializer(backend: StoreBackend, name: string) {
  const stores = new Map<BaseCheckpointSaver, CheckpointStore>();
  return {
    checkpointerName: name,
    // Each checkpointer gets a fresh place: the suite's tests count what one instance stored.
    async createCheckpointer() {
      const store = await openCheckpointStore(await backend.location(folders.folder()));
      stores.set(store.saver, store);
      return store.saver;
    },
    async destroyCheckpointer(saver: BaseCheckpointSaver) {
      await stores.get(saver)?.close();
      stores.delete(saver);
    },
  };
}

/**
 * Each run carries the package's name: the suite knows where LangGraph's own savers fall short of
 * it, and skips those cases by that name (SqliteSaver stores every channel's value with every
 * checkpoint, not only the changed ones: "TODO: SQLiteSaver doesn't store channel deltas"). Ours
 * are those savers with pruning added; the suite stores at most two checkpoints per conversation,
 * within the three we keep, so it runs them as the bot configures them (pruning is proven in
 * `checkpointStore.test.ts`).
 */
for (const backend of backends) {
  specTest(initializer(backend, `@langchain/langgraph-checkpoint-${backend.name}`));
}
