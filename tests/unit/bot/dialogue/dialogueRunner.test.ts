import { describe, expect, it, vi } from 'vitest';
import {
  type BotPost,
  createDialogueRunner,
  type DialogueThread,
} from '../../../../src/bot/dialogue/dialogueRunner.ts';
import type { DialogueEvent, DialogueRequest } from '../../../../src/graph/dialogue.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { flush, ManualClock } from '../../../support/clock.ts';

/** A thread that records what the runner says in it. */
function recordingThread(id = 'thread-1') {
  const said: string[] = [];
  const thread: DialogueThread = {
    id,
    guildId: 'guild-1',
    parentId: 'channel-1',
    async send(post: BotPost) {
      said.push(`BOT: ${post.content ?? '(card)'}`);
    },
    async speak(persona, content) {
      said.push(`${persona.displayName}: ${content}`);
      return [`m${said.length}`];
    },
    async typing() {
      said.push('(typing)');
    },
    async tellOutside(content) {
      said.push(`OUTSIDE: ${content}`);
    },
  };
  return { thread, said };
}

/** A dialogue that replays scripted events and remembers what it was asked. */
function scriptedDialogue(events: DialogueEvent[], failWith?: Error) {
  const requests: DialogueRequest[] = [];
  return {
    requests,
    dialogue: {
      async *run(request: DialogueRequest) {
        requests.push(request);
        yield* events;
        if (failWith) throw failWith;
      },
    },
  };
}

const turn = (persona: string, text: string, extra: Partial<Extract<DialogueEvent, { type: 'turn' }>> = {}) =>
  ({
    type: 'turn',
    persona,
    node: 'brick',
    kind: 'thesis',
    text,
    run: 1,
    turn: 1,
    round: 1,
    ...extra,
  }) as const;

function runnerWith(
  dialogue: ReturnType<typeof scriptedDialogue>['dialogue'],
  clock = new ManualClock(),
  extra: Pick<Parameters<typeof createDialogueRunner>[0], 'turnPosts'> = {},
) {
  return createDialogueRunner({
    ...extra,
    dialogue,
    personas: () => ({
      get: (id: string) => ({
        displayName: id.charAt(0) + id.slice(1).toLowerCase(),
        avatarUrl: `https://example.test/${id}.png`,
      }),
    }),
    tool: () => undefined,
    clock,
    logger: createSilentLogger(),
  });
}

describe('the dialogue runner, built from two fakes', () => {
  it('posts each turn under its persona, with tool calls above and dissonance below (a quick turn shows no "typing…")', async () => {
    const { dialogue, requests } = scriptedDialogue([
      { type: 'thinking', persona: 'BRICK', node: 'brick' },
      turn('BRICK', 'Step one.', {
        toolCalls: [{ tool: 'add', input: { a: 1 }, ok: true, output: '2', ms: 1 }],
      }),
      turn('ROBIN', 'Gently.', { dissonance: 0.25 }),
    ]);
    const { thread, said } = recordingThread();
    await runnerWith(dialogue).run(thread, 'Plan a trip', { userId: 'u1' });
    expect(said).toEqual([
      'Brick: -# 🛠️ used add({"a":1}) → 2\nStep one.',
      'Robin: Gently.\n-# dissonance: 0.25',
    ]);
    expect(requests[0]).toEqual({
      conversationId: 'thread-1',
      message: 'Plan a trip',
      userId: 'u1',
      scope: { guildId: 'guild-1', channelId: 'channel-1', threadId: 'thread-1' },
    });
  });

  it('says once where a dialogue stood in the model queue, only when the wait is long', async () => {
    const clock = new ManualClock();
    const waits: Array<() => void> = [];
    const wait = () => new Promise<void>((resolve) => waits.push(resolve));
    const dialogue = {
      async *run() {
        yield { type: 'queued', persona: 'ALFRED', position: 2 } as const;
        await wait();
        yield turn('ALFRED', 'Plan.');
        yield { type: 'queued', persona: 'BRICK', position: 3 } as const;
        await wait();
        yield turn('BRICK', 'Thesis.');
        yield { type: 'queued', persona: 'ROBIN', position: 1 } as const;
        await wait();
        yield turn('ROBIN', 'Antithesis.');
      },
    };
    const { thread, said } = recordingThread();
    const running = runnerWith(dialogue, clock).run(thread, 'x');
    await clock.advance(0);
    await clock.advance(4_999);
    waits.shift()?.();
    await clock.advance(0);
    expect(said).toEqual(['Alfred: Plan.']);
    await clock.advance(5_000);
    waits.shift()?.();
    await clock.advance(60_000);
    waits.shift()?.();
    await running;
    expect(said).toEqual([
      'Alfred: Plan.',
      'BOT: ⏳ Other dialogues are using the model: this one was number 3 in the queue and follows as soon as it can.',
      'Brick: Thesis.',
      'Robin: Antithesis.',
    ]);
  });

  it('shows "typing…" once a persona has thought 2 s, renews it on the injected clock, and stops when it speaks', async () => {
    let release!: () => void;
    const clock = new ManualClock();
    const dialogue = {
      async *run() {
        yield { type: 'thinking', persona: 'ALFRED', node: 'alfred_plan' } as const;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        yield turn('ALFRED', 'Done thinking.');
      },
    };
    const { thread, said } = recordingThread();
    const running = runnerWith(dialogue, clock).run(thread, 'x');
    await clock.advance(0);
    await clock.advance(1_999);
    expect(said).toEqual([]);
    await clock.advance(1);
    await clock.advance(8_000);
    await clock.advance(8_000);
    expect(said).toEqual(['(typing)', '(typing)', '(typing)']);
    release();
    await running;
    await clock.advance(60_000);
    expect(said).toEqual(['(typing)', '(typing)', '(typing)', 'Alfred: Done thinking.']);
  });

  it('runs the messages of one thread one after another, in order, and another thread beside them', async () => {
    // The dialogue leaves a conversation's order to its caller: this queue is what keeps it.
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const dialogue = {
      async *run(request: DialogueRequest) {
        log.push(`start ${request.message}`);
        await new Promise<void>((resolve) => gates.set(request.message, resolve));
        yield turn('ALFRED', `answer ${request.message}`);
        log.push(`end ${request.message}`);
      },
    };
    const runner = runnerWith(dialogue);
    const here = recordingThread('here');
    const there = recordingThread('there');
    const runs = [
      runner.run(here.thread, 'one'),
      runner.run(here.thread, 'two'),
      runner.run(there.thread, 'elsewhere'),
    ];
    await flush();
    expect(log).toEqual(['start one', 'start elsewhere']);

    gates.get('one')?.();
    await flush();
    expect(log).toEqual(['start one', 'start elsewhere', 'end one', 'start two']);
    gates.get('two')?.();
    gates.get('elsewhere')?.();
    await Promise.all(runs);
    expect(here.said).toEqual(['Alfred: answer one', 'Alfred: answer two']);
    expect(there.said).toEqual(['Alfred: answer elsewhere']);
  });

  it('remembers which messages are which persona turn of which run, and the forge’s none', async () => {
    const { dialogue } = scriptedDialogue([
      turn('ALFRED', 'Plan.', { run: 2, turn: 1 }),
      turn('TOOL_FORGE', 'No tool needed.', { run: 2, turn: 2 }),
      turn('ROBIN', 'Gently.', { run: 2, turn: 3 }),
    ]);
    const { thread } = recordingThread('thread-7');
    const recorded: unknown[] = [];
    const clock = new ManualClock(5_000);
    await runnerWith(dialogue, clock, {
      turnPosts: {
        recordTurn: async (turn) => {
          recorded.push(turn);
        },
      },
    }).run(thread, 'x');
    expect(recorded).toEqual([
      { conversationId: 'thread-7', run: 2, persona: 'ALFRED', turn: 1, messageIds: ['m1'], at: 5_000 },
      { conversationId: 'thread-7', run: 2, persona: 'ROBIN', turn: 3, messageIds: ['m3'], at: 5_000 },
    ]);
  });

  it('turns a failure into words in the thread and never rejects', async () => {
    const { dialogue } = scriptedDialogue([turn('ALFRED', 'Plan.')], new Error('boom'));
    const { thread, said } = recordingThread();
    await expect(runnerWith(dialogue).run(thread, 'x')).resolves.toBeUndefined();
    expect(said.at(-1)).toMatch(/^BOT: ⚠️ Something went wrong on my side \(incident `[0-9a-f]{8}`\)/);
  });

  it('knows which threads are running, and stops them all on shutdown', async () => {
    const dialogue = {
      async *run(_request: DialogueRequest, options?: { signal?: AbortSignal }) {
        await new Promise<void>((_, reject) =>
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason)),
        );
        yield turn('ALFRED', 'never');
      },
    };
    const runner = runnerWith(dialogue);
    const { thread, said } = recordingThread('t-9');
    const running = runner.run(thread, 'x');
    expect([...runner.activeThreads]).toEqual(['t-9']);
    await runner.shutdown();
    await running;
    expect(runner.activeThreads.size).toBe(0);
    expect(said.at(-1)).toMatch(/stopped mid-dialogue/);
  });

  it('runs twenty threads at once with no listener piling up on a shared signal, and stops them all', async () => {
    const signals: AbortSignal[] = [];
    const dialogue = {
      async *run(_request: DialogueRequest, options?: { signal?: AbortSignal }) {
        const signal = options?.signal as AbortSignal;
        signals.push(signal);
        await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        yield turn('ALFRED', 'never');
      },
    };
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const runner = runnerWith(dialogue);
      const threads = Array.from({ length: 20 }, (_, i) => recordingThread(`t-${i}`));
      const runs = threads.map(({ thread }) => runner.run(thread, 'x'));
      await vi.waitFor(() => expect(signals).toHaveLength(20));
      // Each run has a signal of its own.
      expect(new Set(signals).size).toBe(20);
      await runner.shutdown();
      await Promise.all(runs);
      expect(signals.every((signal) => signal.aborted)).toBe(true);
      for (const { said } of threads) expect(said.at(-1)).toMatch(/stopped mid-dialogue/);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
