import { readFileSync } from 'node:fs';
import { emptyCheckpoint } from '@langchain/langgraph-checkpoint';
import { afterEach, describe, expect, it } from 'vitest';
import { openCheckpointStore } from '../../../../src/services/checkpointStore.ts';
import { forgottenOf } from '../../../../src/services/forgetting/forgotten.ts';
import type { DialogueRecord } from '../../../../src/services/memory/interactionLog.ts';
import { FORGOTTEN_RECOLLECTION, recollectionQuote } from '../../../../src/shared/recollection.ts';
import { tempFolders } from '../../../support/fixtures.ts';

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
async function stateOf(store: ReturnType<typeof openCheckpointStore>, thread: string, turns: unknown[]) {
  const checkpoint = { ...emptyCheckpoint(), channel_values: { turns, task: 'And the jam?' } };
  const config = await store.saver.put(
    { configurable: { thread_id: thread, checkpoint_ns: '' } },
    checkpoint,
    { source: 'loop', step: 1, parents: {} },
  );
  await store.saver.putWrites(config, [['turns', turns]], 'task-1');
  return config;
}

describe('forgetting in the checkpoints', () => {
  it('cuts a recalled dialogue from every conversation’s stored state and writes, and leaves the rest as it was', async () => {
    const dir = folders.folder();
    const store = openCheckpointStore(dir);
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

    expect(store.forgetQuotes(forgottenOf('c1', [secret]))).toBe(1);

    const after = await store.saver.getTuple(recalled);
    const turns = after?.checkpoint.channel_values.turns as Array<typeof plan>;
    expect(turns[0]?.prompt).toContain(FORGOTTEN_RECOLLECTION);
    expect(turns[0]?.prompt).not.toContain('Quokka7Marmalade');
    expect(turns[0]).toMatchObject({ content: 'A plan.', recalled: ['r1'] });
    expect(JSON.stringify(after?.pendingWrites)).not.toContain('Quokka7Marmalade');
    expect(after?.checkpoint.channel_values.task).toBe('And the jam?');
    expect(await store.saver.getTuple(untouched)).toEqual(before);
    // Nothing of it in the file or its write-ahead log.
    store.close();
    expect(readFileSync(store.path).includes('Quokka7Marmalade')).toBe(false);
  });

  it('changes nothing where nothing quotes it', async () => {
    const store = openCheckpointStore(folders.folder());
    await stateOf(store, 't', [{ speaker: 'ALFRED', kind: 'plan', content: 'Nothing recalled.' }]);
    expect(store.forgetQuotes(forgottenOf('c1', [secret]))).toBe(0);
    store.close();
  });
});
