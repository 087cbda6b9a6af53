import { describe, expect, it } from 'vitest';
import {
  createLimiter,
  type Limiter,
  type LimiterOptions,
  leastBusy,
} from '../../../../src/services/llm/limiter.ts';
import { flush } from '../../../support/clock.ts';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('createLimiter', () => {
  it('runs at most `concurrency` tasks at once and tells waiters their position', async () => {
    const limiter = createLimiter(1);
    const gate = deferred();
    const positions: number[] = [];
    const order: string[] = [];
    const first = limiter.run(async () => {
      order.push('first');
      await gate.promise;
    });
    const second = limiter.run(async () => order.push('second'), { onQueued: (p) => positions.push(p) });
    const third = limiter.run(async () => order.push('third'), { onQueued: (p) => positions.push(p) });
    expect(limiter.active).toBe(1);
    expect(limiter.waiting).toBe(2);
    expect(positions).toEqual([1, 2]);
    gate.resolve();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(limiter.active).toBe(0);
  });

  it('frees the slot when a task fails', async () => {
    const limiter = createLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(async () => 'ok')).resolves.toBe('ok');
  });

  it('drops a waiting task whose signal aborts', async () => {
    const limiter = createLimiter(1);
    const gate = deferred();
    const running = limiter.run(() => gate.promise);
    const controller = new AbortController();
    const waiting = limiter.run(async () => 'never', { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(limiter.waiting).toBe(0);
    gate.resolve();
    await running;
  });

  it('refuses a call that would rather not wait while calls are held, and lets the others wait', async () => {
    const limiter = createLimiter(1);
    const release = limiter.hold('fine-tuning ROBIN');
    await expect(limiter.run(async () => 'now', { leaveWhenHeld: true })).rejects.toMatchObject({
      code: 'MODEL_QUEUE_HELD',
      message: 'model calls are held: fine-tuning ROBIN',
    });
    const waiting = limiter.run(async () => 'later');
    expect(limiter.waiting).toBe(1);
    release();
    await expect(waiting).resolves.toBe('later');
  });

  it('takes a waiting call that would rather not wait out of the queue when a hold begins; one under way finishes', async () => {
    const limiter = createLimiter(1);
    const gate = deferred();
    const running = limiter.run(() => gate.promise.then(() => 'ran'), { leaveWhenHeld: true });
    const leaving = limiter.run(async () => 'never', { leaveWhenHeld: true });
    const staying = limiter.run(async () => 'stayed');
    const release = limiter.hold('fine-tuning ROBIN');
    await expect(leaving).rejects.toMatchObject({ code: 'MODEL_QUEUE_HELD' });
    expect(limiter.waiting).toBe(1);
    gate.resolve();
    await expect(running).resolves.toBe('ran');
    release();
    await expect(staying).resolves.toBe('stayed');
  });

  it('still drops a call that would rather not wait when its own signal aborts', async () => {
    const limiter = createLimiter(1);
    const gate = deferred();
    const running = limiter.run(() => gate.promise);
    const controller = new AbortController();
    const waiting = limiter.run(async () => 'never', { leaveWhenHeld: true, signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    gate.resolve();
    await running;
  });
});

describe('leastBusy', () => {
  it('orders the servers by work in flight, ties in the order given, each once', () => {
    const work: Record<string, number> = { a: 2, b: 0, c: 2, d: 1 };
    expect(leastBusy(['a', 'b', 'c', 'd', 'b'], (s) => work[s] ?? 0)).toEqual(['b', 'd', 'a', 'c']);
  });
});

describe('a limiter over several model servers', () => {
  const A = 'http://gpu1:11434';
  const B = 'http://gpu2:11434';

  /** Starts a call on `servers` that runs until its gate opens; says where it ran. */
  function held(limiter: Limiter, servers: string[], options: LimiterOptions = {}) {
    const gate = deferred();
    let server: string | undefined;
    const done = limiter.run(
      async (turn) => {
        server = turn.server;
        await gate.promise;
        return turn.server;
      },
      { ...options, servers },
    );
    return { done, open: gate.resolve, server: () => server };
  }

  it('sends each call to the server with the least work in flight, ties to the first listed', async () => {
    const limiter = createLimiter(1);
    const first = held(limiter, [A, B]);
    const second = held(limiter, [A, B]);
    // Both busy with one call each: the tie goes to the first listed, where the call waits.
    const third = held(limiter, [A, B]);
    await flush();
    expect([first.server(), second.server()]).toEqual([A, B]);
    expect(limiter.loads()).toEqual([
      { server: A, active: 1, waiting: 1 },
      { server: B, active: 1, waiting: 0 },
    ]);
    // A waiting call counts as work: the next goes to B, which has less.
    const fourth = held(limiter, [A, B]);
    expect(limiter.loads()[1]).toEqual({ server: B, active: 1, waiting: 1 });
    expect([limiter.active, limiter.waiting]).toEqual([2, 2]);
    for (const call of [first, second, third, fourth]) call.open();
    await expect(Promise.all([first, second, third, fourth].map((c) => c.done))).resolves.toEqual([
      A,
      B,
      A,
      B,
    ]);
  });

  it('caps each server on its own: a full server makes nobody wait on another', async () => {
    const limiter = createLimiter(2);
    const onA = [held(limiter, [A]), held(limiter, [A]), held(limiter, [A])];
    const queued: number[] = [];
    const onB = [held(limiter, [B]), held(limiter, [B], { onQueued: (p) => queued.push(p) })];
    await flush();
    expect(limiter.loads()).toEqual([
      { server: A, active: 2, waiting: 1 },
      { server: B, active: 2, waiting: 0 },
    ]);
    expect(queued).toEqual([]);
    expect(onB.map((c) => c.server())).toEqual([B, B]);
    for (const call of [...onA, ...onB]) call.open();
    await Promise.all([...onA, ...onB].map((c) => c.done));
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('takes a trailing slash as the same server', async () => {
    const limiter = createLimiter(1);
    const first = held(limiter, [`${A}/`]);
    const second = held(limiter, [A]);
    expect(limiter.loads()).toEqual([{ server: A, active: 1, waiting: 1 }]);
    first.open();
    second.open();
    await Promise.all([first.done, second.done]);
  });

  it('tries the next server when the chosen one is down, and only then', async () => {
    const limiter = createLimiter(1);
    const down = new Error('ECONNREFUSED');
    const tried: Array<[string, boolean]> = [];
    const movedTo: string[] = [];
    const result = await limiter.run(
      async ({ server, last }) => {
        tried.push([server, last]);
        if (server === A) throw down;
        return 'answered';
      },
      {
        servers: [A, B],
        failOver: (error) => error === down,
        onFailOver: (_e, _from, to) => movedTo.push(to),
      },
    );
    expect(result).toBe('answered');
    expect(tried).toEqual([
      [A, false],
      [B, true],
    ]);
    expect(movedTo).toEqual([B]);
    // Any other failure is the call's: it does not go round the servers.
    const refused = new Error('invalid options');
    await expect(
      limiter.run(
        async () => {
          throw refused;
        },
        { servers: [A, B], failOver: (error) => error === down },
      ),
    ).rejects.toBe(refused);
    // Every server down: the last one's failure is the call's.
    await expect(
      limiter.run(
        async () => {
          throw down;
        },
        { servers: [A, B], failOver: () => true },
      ),
    ).rejects.toBe(down);
  });

  it('holds every server, one first used during the hold too, until released; drained waits for all', async () => {
    const limiter = createLimiter(1);
    const running = [held(limiter, [A]), held(limiter, [B])];
    const release = limiter.hold('fine-tuning ROBIN');
    expect(limiter.heldFor).toBe('fine-tuning ROBIN');
    let drained = false;
    const draining = limiter.drained().then(() => {
      drained = true;
    });
    const reasons: Array<string | undefined> = [];
    const waiting = ['http://gpu3:11434', A].map((server) =>
      limiter.run(async () => 'ran', { servers: [server], onQueued: (_p, reason) => reasons.push(reason) }),
    );
    expect(reasons).toEqual(['fine-tuning ROBIN', 'fine-tuning ROBIN']);
    running[0]?.open();
    await flush();
    expect(drained).toBe(false);
    running[1]?.open();
    await draining;
    await flush();
    expect(limiter.waiting).toBe(2);
    release();
    expect(limiter.heldFor).toBeUndefined();
    await expect(Promise.all(waiting)).resolves.toEqual(['ran', 'ran']);
  });

  it('keeps calls held until every overlapping hold is released, telling the latest reason', async () => {
    const limiter = createLimiter(1);
    const first = limiter.hold('fine-tuning ROBIN');
    const second = limiter.hold('fine-tuning BRICK');
    let ran = false;
    const call = limiter.run(
      async () => {
        ran = true;
      },
      { servers: [A] },
    );
    first();
    await flush();
    expect(ran).toBe(false);
    expect(limiter.heldFor).toBe('fine-tuning BRICK');
    // Released twice, the first hold does not release the second.
    first();
    await flush();
    expect(ran).toBe(false);
    second();
    await call;
    expect(ran).toBe(true);
    expect(limiter.heldFor).toBeUndefined();
  });
});
