import { readdirSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoneEvent } from '../../src/graph/dialogue.ts';
import { createOllamaEmbedder } from '../../src/services/llm/embedder.ts';
import { isSnapshotFile } from '../../src/services/memory/snapshotFiles.ts';
import { EMBED_MODEL, TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { scriptRound } from '../support/scripts.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function scriptAnswer(h: Harness, answer: string) {
  scriptRound(h.emulator, { answer, dissonance: '0.2' });
}

const env = { MEMORY_SIMILARITY_FLOOR: '0.3' };
const planPrompt = (h: Harness) => h.emulator.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';

describe('memory of past dialogues', () => {
  it('keeps a terminal program’s index snapshots apart from the bot’s on one DATA_DIR: neither removes the other’s', async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'Paris is the capital of France.');
    await harness.talk('thread-a', 'What is the capital of France?');
    await harness.runtime.memory.snapshot();
    // The terminal chat beside the bot, as `openCliRuntime('chat', …)` composes it.
    const chat = await harness.restart({ memoryScope: 'chat' });
    await chat.memory.snapshot();
    scriptAnswer(harness, 'About 2.1 million people.');
    await harness.talk('thread-b', 'How many people live in Paris?');
    await harness.runtime.memory.snapshot();
    const snapshots = (...dir: string[]) =>
      readdirSync(join(harness?.dataDir ?? '', 'memory', ...dir)).filter(isSnapshotFile);
    expect(snapshots()).toHaveLength(1);
    expect(snapshots('chat')).toHaveLength(1);
  });

  it('records every finished run with its turns, prompts, models, dissonance and asker', async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'Paris is the capital of France.');
    await harness.talk('thread-a', 'What is the capital of France?', {
      userId: 'u1',
      guildId: 'g1',
      channelId: 'c1',
    });
    const [record] = await harness.runtime.memory.records('thread-a');
    expect(record).toMatchObject({
      conversationId: 'thread-a',
      run: 1,
      task: 'What is the capital of France?',
      answer: 'Paris is the capital of France.',
      models: [ALFRED, BRICK, ROBIN],
      trajectory: [0.2],
      finalDissonance: 0.2,
      userId: 'u1',
      guildId: 'g1',
      channelId: 'c1',
      codexVersion: 1,
      embedded: true,
    });
    expect(record?.turns.map((t) => t.speaker)).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    expect(record?.turns[1]?.prompt).toContain('What is the capital of France?');
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 1, pending: 0, vectors: 1 });
  });

  it('serves the log in time order from a cursor, for jobs that resume where they stopped', async () => {
    harness = await startHarness({ env });
    for (const task of ['first', 'second', 'third']) {
      scriptAnswer(harness, `answer ${task}`);
      await harness.talk(`thread-${task}`, task);
    }
    const all = await harness.runtime.memory.since(0);
    expect(all.map((r) => r.task)).toEqual(['first', 'second', 'third']);
    expect((await harness.runtime.memory.since(all[0]?.seq ?? 0)).map((r) => r.task)).toEqual([
      'second',
      'third',
    ]);
    expect(await harness.runtime.memory.since(all[2]?.seq ?? 0)).toEqual([]);
  });

  it("recalls an earlier dialogue into ALFRED's plan when a paraphrased question comes in another thread", async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'The capital of France is Paris, on the Seine.');
    await harness.talk('thread-a', 'What is the capital city of France?');
    scriptAnswer(harness, 'Sourdough needs a starter.');
    await harness.talk('thread-b', 'How do I bake sourdough bread?');

    scriptAnswer(harness, 'Paris, as before.');
    await harness.talk('thread-c', "Tell me France's capital city");

    const plan = planPrompt(harness);
    expect(plan).toContain('Related past dialogues');
    expect(plan).toContain('The capital of France is Paris, on the Seine.');
    expect(plan).not.toContain('Sourdough');
    expect(plan).toMatch(/\d{4}-\d{2}-\d{2} \(similarity 0\.\d\d/);
  });

  it('embeds a query once, however many parts of a run ask for its vector', async () => {
    const emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const embeds = () => emulator.requests.filter((r) => r.path === '/api/embed').length;
    try {
      const embedder = createOllamaEmbedder({ host: emulator.url, model: EMBED_MODEL, timeoutMs: 5000 });
      const reuse = { reuse: true };
      const [first, second] = await Promise.all([
        embedder.embed('the same task', reuse),
        embedder.embed('the same task', reuse),
      ]);
      expect(second).toEqual(first);
      first.fill(0);
      expect(await embedder.embed('the same task', reuse)).toEqual(second);
      await embedder.embed('another task', reuse);
      expect(embeds()).toBe(2);
      // A record (or a rebuild) always asks the model: it may have changed.
      await embedder.embed('the same task');
      expect(embeds()).toBe(3);
    } finally {
      await emulator.close();
    }
  });

  it('keeps the index across a restart', async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'The capital of France is Paris.');
    await harness.talk('thread-a', 'What is the capital of France?');
    await harness.runtime.close();

    const restarted = await harness.restart();
    expect(await restarted.memory.stats()).toMatchObject({ dialogues: 1, vectors: 1 });
    const found = await restarted.memory.recall('capital of France', { floor: 0.3 });
    expect(found[0]).toMatchObject({ conversationId: 'thread-a' });
  });

  it('rebuilds a truncated index file from the interaction log', async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'The capital of France is Paris.');
    await harness.talk('thread-a', 'What is the capital of France?');
    await harness.runtime.close();
    const [file] = readdirSync(join(harness.dataDir, 'memory')).filter((name) => name.endsWith('.hnsw'));
    truncateSync(join(harness.dataDir, 'memory', file ?? 'none'), 100);

    const restarted = await harness.restart();
    await restarted.memory.embedPending();
    expect(await restarted.memory.stats()).toMatchObject({ dialogues: 1, vectors: 1, pending: 0 });
    expect(await restarted.memory.recall('capital of France', { floor: 0.3 })).toHaveLength(1);
  });

  it('queues dialogues while embeddings fail, and embeds them later, losing nothing', async () => {
    harness = await startHarness({ env });
    harness.emulator.models.delete(EMBED_MODEL);
    scriptAnswer(harness, 'Answer while embeddings are down.');
    const events = await harness.talk('thread-a', 'First question');
    expect((events.at(-1) as DoneEvent).answer).toBe('Answer while embeddings are down.');
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 1, pending: 1, vectors: 0 });

    harness.emulator.models.add(EMBED_MODEL);
    expect(await harness.runtime.memory.embedPending()).toBe(1);
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 1, pending: 0, vectors: 1 });
  });

  it('refuses vectors of a changed embedding dimension, naming the rebuild command', async () => {
    harness = await startHarness({ env, embeddingDimension: 64 });
    scriptAnswer(harness, 'The capital of France is Paris.');
    await harness.talk('thread-a', 'What is the capital of France?');

    harness.emulator.dimension = 32;
    scriptAnswer(harness, 'Still answered.');
    const events = await harness.talk('thread-b', 'What is the capital of France again?');

    const done = events.at(-1) as DoneEvent;
    expect(done.answer).toBe('Still answered.');
    expect(done.warnings.join('\n')).toMatch(/64-dimensional[\s\S]*gives 32[\s\S]*npm run memory:rebuild/);
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 2, pending: 1 });

    expect(await harness.runtime.memory.rebuild()).toBe(2);
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 2, pending: 0, vectors: 2 });
    expect(await harness.runtime.memory.recall('capital of France', { floor: 0.3 })).toHaveLength(2);
  });

  it('forgets a conversation: its records and vectors go, search no longer finds it', async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'The capital of France is Paris.');
    await harness.talk('thread-a', 'What is the capital of France?');
    scriptAnswer(harness, 'Berlin.');
    await harness.talk('thread-b', 'What is the capital of Germany?');

    const removed = await harness.runtime.memory.forget('thread-a');

    expect(removed.map((r) => r.task)).toEqual(['What is the capital of France?']);
    expect(await harness.runtime.memory.records('thread-a')).toEqual([]);
    const found = await harness.runtime.memory.recall('capital of France', { floor: 0 });
    expect(found.map((r) => r.conversationId)).toEqual(['thread-b']);
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 1, vectors: 1 });
  });
});

describe('recall stays within a server', () => {
  it("never recalls another server's dialogue", async () => {
    harness = await startHarness({ env });
    scriptAnswer(harness, 'The capital of France is Paris.');
    await harness.talk('server-a-thread', 'What is the capital of France?', { guildId: 'guild-a' });
    scriptAnswer(harness, 'Paris.');
    await harness.talk('server-b-thread', 'What is the capital of France?', { guildId: 'guild-b' });
    expect(planPrompt(harness)).not.toContain('Related past dialogues');
    expect(
      await harness.runtime.memory.recall('capital of France', { guildId: 'guild-a', floor: 0 }),
    ).toHaveLength(1);
  });
});
