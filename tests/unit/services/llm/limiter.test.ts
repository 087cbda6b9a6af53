import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../../../src/services/llm/limiter.ts';

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
