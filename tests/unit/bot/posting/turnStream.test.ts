import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT } from '../../../../src/bot/posting/splitMessage.ts';
import {
  createTurnStream,
  STREAM_CURSOR,
  type TurnPart,
  type TurnStreamPort,
} from '../../../../src/bot/posting/turnStream.ts';
import { streamingPreview } from '../../../../src/graph/parsing.ts';
import { flush, ManualClock } from '../../../support/clock.ts';

/** Messages as Discord would hold them, and every request in order. */
class FakeThread implements TurnStreamPort<string> {
  readonly messages = new Map<string, TurnPart>();
  readonly log: string[] = [];
  private next = 1;
  failEdits = false;

  async create(part: TurnPart): Promise<string> {
    await flush();
    const id = `m${this.next++}`;
    this.messages.set(id, { ...part });
    this.log.push(`create ${id}`);
    return id;
  }

  async edit(id: string, part: () => TurnPart): Promise<void> {
    await flush();
    if (this.failEdits) throw new Error('edit refused');
    this.messages.set(id, { ...part() });
    this.log.push(`edit ${id}`);
  }

  async remove(id: string): Promise<void> {
    this.messages.delete(id);
    this.log.push(`remove ${id}`);
  }

  get contents(): string[] {
    return [...this.messages.values()].map((m) => m.content);
  }
}

function start(editIntervalMs = 1000) {
  const clock = new ManualClock();
  const thread = new FakeThread();
  const errors: unknown[] = [];
  const stream = createTurnStream({
    port: thread,
    clock,
    settings: { editIntervalMs },
    onError: (e) => errors.push(e),
  });
  return { clock, thread, stream, errors };
}

describe('a streamed turn', () => {
  it('posts the first words at once with a cursor, then coalesces later ones into one edit a second', async () => {
    const { clock, thread, stream } = start();
    stream.update('Hello');
    await flush();
    expect(thread.contents).toEqual([`Hello${STREAM_CURSOR}`]);
    expect(stream.stats.firstPostAt).toBe(clock.now());

    for (const text of ['Hello, wor', 'Hello, world', 'Hello, world. How']) stream.update(text);
    await flush();
    expect(thread.log).toEqual(['create m1']);
    await clock.advance(1000);
    await flush();
    expect(thread.log).toEqual(['create m1', 'edit m1']);
    expect(thread.contents).toEqual([`Hello, world. How${STREAM_CURSOR}`]);

    await stream.finish([{ content: 'Hello, world. How are you?' }]);
    expect(thread.contents).toEqual(['Hello, world. How are you?']);
    expect(stream.stats).toMatchObject({ messages: 1, edits: 2 });
  });

  it('posts nothing until there are words, and nothing twice when the text did not change', async () => {
    const { clock, thread, stream } = start();
    stream.update('');
    stream.update('   ');
    await clock.advance(5000);
    expect(thread.log).toEqual([]);
    stream.update('Yes');
    await flush();
    stream.update('Yes');
    await clock.advance(5000);
    await stream.finish([{ content: `Yes${STREAM_CURSOR}` }]);
    expect(thread.log).toEqual(['create m1']);
  });

  it('goes on in a new message past 2000 characters, and the finished turn is exact', async () => {
    const { clock, thread, stream } = start();
    const paragraph = `${'word '.repeat(120).trim()}\n\n`;
    let text = '';
    for (let i = 0; i < 8; i += 1) {
      text += paragraph;
      stream.update(text.trimEnd());
      await clock.advance(1000);
      await flush();
    }
    expect(thread.messages.size).toBe(3);
    for (const content of thread.contents) expect(content.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(thread.contents.at(-1)?.endsWith(STREAM_CURSOR)).toBe(true);
    expect(thread.contents.slice(0, -1).every((c) => !c.endsWith(STREAM_CURSOR))).toBe(true);

    const final = [{ content: 'first' }, { content: 'second' }];
    await stream.finish(final);
    // Extra messages go; the rest say exactly the finished parts.
    expect(thread.contents).toEqual(['first', 'second']);
    expect(thread.log.filter((l) => l.startsWith('remove'))).toEqual(['remove m3']);
  });

  it('a text that shrinks (a tool call starts the words afresh) leaves just the cursor', async () => {
    const { clock, thread, stream } = start();
    stream.update('Let me look that up.');
    await flush();
    stream.update('');
    await clock.advance(1000);
    await flush();
    expect(thread.contents).toEqual([STREAM_CURSOR.trim()]);
    stream.update('It is 42.');
    await clock.advance(1000);
    await flush();
    expect(thread.contents).toEqual([`It is 42.${STREAM_CURSOR}`]);
  });

  it('an abandoned turn keeps its words and loses its cursor; a failed edit is reported, not thrown', async () => {
    const { clock, thread, stream, errors } = start();
    stream.update('Half a thought');
    await flush();
    thread.failEdits = true;
    stream.update('Half a thought and');
    await clock.advance(1000);
    await flush();
    expect(errors).toHaveLength(1);
    thread.failEdits = false;
    await stream.abandon();
    expect(thread.contents).toEqual(['Half a thought …']);
    // Nothing more goes out after it ends.
    stream.update('more words');
    await clock.advance(5000);
    expect(thread.contents).toEqual(['Half a thought …']);
  });

  it('finish throws when the finished turn cannot be shown', async () => {
    const { thread, stream } = start();
    stream.update('Words');
    await flush();
    thread.failEdits = true;
    await expect(stream.finish([{ content: 'Words, finished.' }])).rejects.toThrow('edit refused');
  });
});

describe('what a turn shows while it is written', () => {
  it('holds back control lines, and a last line that may become one', () => {
    expect(streamingPreview('I think so.\nDISSONANCE: 0.2')).toBe('I think so.');
    expect(streamingPreview('I think so.\nDISSO')).toBe('I think so.');
    expect(streamingPreview('I think so.\n**Dis')).toBe('I think so.');
    expect(streamingPreview('Let me check.\nTOOL_CALL: add {"a": 1,')).toBe('Let me check.');
    expect(streamingPreview('Let me check.\nTOOL_CALL: add {"a": 1}\nmore')).toBe('Let me check.');
    expect(streamingPreview('A plan.\nTOOL_REQUIRED: a tool that')).toBe('A plan.');
    expect(streamingPreview('Do this')).toBe('Do this');
    // Inside code, a control word is just text.
    expect(streamingPreview('```\nDISSONANCE: 1\n```')).toBe('```\nDISSONANCE: 1\n```');
  });
});
