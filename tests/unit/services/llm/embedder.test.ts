import { describe, expect, it } from 'vitest';
import { createEmbedder } from '../../../../src/services/llm/embedder.ts';
import { BACKGROUND_PRIORITY, createLimiter } from '../../../../src/services/llm/limiter.ts';

/** An embedder over a fake server that records each text it is asked, on a shared limiter. */
function embedderOn(limiter = createLimiter(1), timeoutMs = 5_000) {
  const asked: string[] = [];
  const embedder = createEmbedder({
    model: 'nomic-embed-text',
    timeoutMs,
    limiter,
    embedQuery: async (text) => {
      asked.push(text);
      return [text.length, 1];
    },
    toError: (error) => error,
  });
  return { embedder, asked, limiter };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('an embedder on the model queue', () => {
  it('waits while the queue is held for a fine-tune, its deadline counted from when it runs', async () => {
    const { embedder, asked, limiter } = embedderOn(createLimiter(1), 20);
    const release = limiter.hold('fine-tuning ROBIN');
    const query = embedder.embed('what did we decide?', { reuse: true });
    // Longer than the deadline: a wait in the queue is not the server being slow.
    await settle();
    expect(asked).toEqual([]);
    expect(limiter.waiting).toBe(1);
    release();
    await expect(query).resolves.toEqual([19, 1]);
    expect(asked).toEqual(['what did we decide?']);
  });

  it('takes its turn among the chats by priority', async () => {
    const { embedder, asked, limiter } = embedderOn();
    const order: string[] = [];
    let open!: () => void;
    const running = limiter.run(() => new Promise<void>((resolve) => (open = resolve)));
    const background = embedder
      .embed('a record', { priority: BACKGROUND_PRIORITY })
      .then(() => order.push('record'));
    const chat = limiter.run(async () => order.push('chat'));
    const query = embedder.embed('a query').then(() => order.push('query'));
    open();
    await Promise.all([running, background, chat, query]);
    expect(order).toEqual(['chat', 'query', 'record']);
    expect(asked).toEqual(['a query', 'a record']);
  });

  it('fails at once, reaching no server, for an embedding that may be made later while the queue is held', async () => {
    const { embedder, asked, limiter } = embedderOn();
    const release = limiter.hold('fine-tuning ROBIN');
    await expect(embedder.embed('a record', { leaveWhenHeld: true })).rejects.toMatchObject({
      code: 'MODEL_QUEUE_HELD',
    });
    release();
    await expect(embedder.embed('a record', { leaveWhenHeld: true })).resolves.toEqual([8, 1]);
    expect(asked).toEqual(['a record']);
  });
});
