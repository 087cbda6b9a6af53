import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { createSandbox } from '../../../../src/services/tools/sandbox.ts';

/** The real QuickJS sandbox, with a short deadline so the bombs end quickly. */
const sandbox = createSandbox({ limits: { timeoutMs: 250, memoryBytes: 16 * 1024 * 1024 }, workers: 2 });
afterAll(() => sandbox.close());

const run = (code: string, input: unknown = {}) => sandbox.run(code, input);

describe('the sandbox', () => {
  it('runs run(input) and returns its JSON result', async () => {
    await expect(
      run('function run(i) { return { sum: i.a + i.b }; }', { a: 2, b: 3 }),
    ).resolves.toMatchObject({
      ok: true,
      value: { sum: 5 },
      json: '{"sum":5}',
    });
  });

  it('settles an async run', async () => {
    await expect(
      run('async function run(i) { await null; return i.n * 2; }', { n: 21 }),
    ).resolves.toMatchObject({
      ok: true,
      value: 42,
    });
  });

  it('passes the input as a copy: the tool sees JSON only', async () => {
    const input = { list: [1, 2, 3] };
    const result = await run('function run(i) { i.list.push(4); return i.list; }', input);
    expect(result).toMatchObject({ ok: true, value: [1, 2, 3, 4], json: '[1,2,3,4]' });
    expect(input.list).toEqual([1, 2, 3]);
  });

  describe('contains bad tools: each call ends with a clear error', () => {
    it.each([
      ['an infinite loop', 'function run() { for (;;) {} }', 'timeout', /interrupted|watchdog/],
      [
        'a memory bomb',
        'function run() { const a = []; for (;;) a.push(new Array(100000).fill(7)); }',
        'memory',
        /out of memory/,
      ],
      [
        // QuickJS builds the doubled string as a rope and stops at its length limit without using
        // the memory: that is an error the code ran into, not the memory limit.
        'a string bomb',
        "function run() { let s = 'x'; for (;;) s += s; }",
        /thrown|memory/,
        /string too long|out of memory/,
      ],
      [
        'deep recursion',
        'function run() { function f(n) { return f(n + 1) + 1; } return f(0); }',
        'stack',
        /stack overflow/,
      ],
      ['a throw', "function run() { throw new TypeError('bad input'); }", 'thrown', /bad input/],
      ['a thrown non-error', 'function run() { throw 42; }', 'thrown', /non-error value: 42/],
      ['an undefined result', 'function run() {}', 'not_json', /undefined/],
      ['a function result', 'function run() { return () => 1; }', 'not_json', /function/],
      ['a BigInt result', 'function run() { return 10n; }', 'not_json', /BigInt/],
      ['a cyclic result', 'function run() { const o = {}; o.o = o; return o; }', 'not_json', /circular/],
      ['a 10 MB result', "function run() { return 'x'.repeat(10 * 1024 * 1024); }", /too_large|memory/, /./],
      [
        'a promise that never settles',
        'function run() { return new Promise(() => {}); }',
        'thrown',
        /never settled/,
      ],
      [
        'reaching for process',
        'function run() { return process.env; }',
        'thrown',
        /'process' is not defined/,
      ],
      [
        'reaching for require',
        "function run() { return require('fs'); }",
        'thrown',
        /'require' is not defined/,
      ],
      [
        'reaching for fetch',
        "function run() { return fetch('http://127.0.0.1'); }",
        'thrown',
        /'fetch' is not defined/,
      ],
      ['a syntax error', 'function run( {', 'syntax', /tool\.js line 1/],
      ['no entry function', 'function go() { return 1; }', 'no_entry', /no function run/],
      [
        'a throw dressed as a timeout',
        "function run() { throw { name: 'InternalError', message: 'interrupted' }; }",
        'thrown',
        /interrupted/,
      ],
    ])('%s', async (_name, code, kind, message) => {
      const result = await run(code);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.kind).toMatch(kind);
      expect(result.message).toMatch(message);
    });

    it('leaves no way to the host through globalThis or the prototypes', async () => {
      const result = await run(`function run() {
        const viaFunction = (() => 1).constructor('return this')();
        const viaObject = Object.getPrototypeOf({}).constructor.constructor('return this')();
        return [viaFunction === globalThis, typeof viaObject.process, typeof viaObject.require,
          typeof globalThis.setTimeout, typeof globalThis.Uint8Array, typeof globalThis.WebAssembly];
      }`);
      expect(result).toMatchObject({
        ok: true,
        value: [true, 'undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
      });
    });

    it('cannot change the host: global edits do not survive into the next call', async () => {
      await run(
        "function run() { Object.prototype.polluted = 'yes'; JSON.stringify = () => 'x'; return 1; }",
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await expect(run('function run() { return ({}).polluted ?? "clean"; }')).resolves.toMatchObject({
        ok: true,
        value: 'clean',
      });
    });
  });

  it('fails a call whose promise jobs outrun the deadline, replaces the worker and keeps serving', async () => {
    // run returns 1 at once, but its endless chain of promise jobs keeps the call running until
    // QuickJS interrupts it at the deadline. Whether the interrupt lands in a promise job (which
    // swallows it) or elsewhere (where freeing the runtime may then abort the module) is timing:
    // both end the call as failed (timeout or crashed) and replace the worker.
    const result = await run('function run() { const f = () => Promise.resolve().then(f); f(); return 1; }');
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(['crashed', 'timeout']).toContain(result.kind);
    await expect(run('function run() { return "alive"; }')).resolves.toMatchObject({
      ok: true,
      value: 'alive',
    });
  });

  it('keeps serving other calls while one tool loops', async () => {
    const looping = run('function run() { for (;;) {} }');
    const quick = await run('function run() { return "still here"; }');
    expect(quick).toMatchObject({ ok: true, value: 'still here' });
    expect((await looping).ok).toBe(false);
  });

  it('cancels a call through its signal', async () => {
    // A deadline far away, so that only the signal can end the loop.
    const patient = createSandbox({ limits: { timeoutMs: 600_000 }, workers: 1 });
    try {
      const controller = new AbortController();
      const pending = patient.run('function run() { for (;;) {} }', {}, { signal: controller.signal });
      setImmediate(() => controller.abort());
      await expect(pending).resolves.toMatchObject({ ok: false, kind: 'aborted' });
      await expect(patient.run('function run() { return 1; }', {})).resolves.toMatchObject({
        ok: true,
        value: 1,
      });
    } finally {
      await patient.close();
    }
  });

  it('leaves no listener on a long-lived signal after its calls', async () => {
    const controller = new AbortController();
    const added: string[] = [];
    const removed: string[] = [];
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, ...rest: [never, never]) => {
      added.push(type);
      add(type, ...rest);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((type: string, ...rest: [never, never]) => {
      removed.push(type);
      remove(type, ...rest);
    }) as typeof signal.removeEventListener;
    for (let i = 0; i < 5; i++) await sandbox.run('function run() { return 1; }', {}, { signal });
    expect(added).toHaveLength(5);
    expect(removed).toHaveLength(5);
  });

  it('refuses an input that is not JSON', async () => {
    await expect(sandbox.run('function run() { return 1; }', 10n)).resolves.toMatchObject({
      ok: false,
      kind: 'bad_input',
    });
  });

  it('refuses an input too large to copy into the sandbox', async () => {
    const result = await sandbox.run('function run(i) { return i.length; }', 'x'.repeat(2 * 1024 * 1024));
    expect(result).toMatchObject({ ok: false, kind: 'bad_input' });
  });
});

describe('the sandbox classifies a failure by what it observed, not by what the tool threw', () => {
  /** A one-worker sandbox that counts the workers it starts. */
  function counting() {
    let started = 0;
    const box = createSandbox({
      limits: { timeoutMs: 250, memoryBytes: 16 * 1024 * 1024 },
      workers: 1,
      createWorker: (url) => {
        started++;
        return new Worker(url);
      },
    });
    return { box, started: () => started };
  }

  it.each([
    ['a timeout', "throw { name: 'Interrupted', message: 'interrupted at the deadline' };"],
    ['a timeout, as QuickJS words it', "throw { name: 'InternalError', message: 'interrupted' };"],
    ['running out of memory', "throw { name: 'InternalError', message: 'out of memory' };"],
    ['running out of memory, as a real InternalError', "throw new InternalError('out of memory');"],
    ['running out of memory, by a length message', "throw new RangeError('invalid array length');"],
    ['a stack overflow', "throw { name: 'InternalError', message: 'stack overflow' };"],
    ['a stack overflow, as a real InternalError', "throw new InternalError('stack overflow');"],
    ['a crash', "throw { name: 'Crashed', message: 'the sandbox failed: Aborted()' };"],
    ['a result over the size limit', "throw { name: 'TooLarge', message: 'the result is too large' };"],
    ['a result that is not JSON', "throw { name: 'NotJson', message: 'not JSON' };"],
    [
      'anything, through a setter on Object.prototype',
      "Object.defineProperty(Object.prototype, 'fault', { set() {}, get() { return { kind: 'memory' }; } }); throw new Error('x');",
    ],
  ])('a tool that fakes %s gets thrown, and its worker is kept', async (_fake, body) => {
    const { box, started } = counting();
    try {
      await expect(box.run('function run() { return 1; }', {})).resolves.toMatchObject({ ok: true });
      const result = await box.run(`function run() { ${body} }`, {});
      expect(result).toMatchObject({ ok: false, kind: 'thrown' });
      await expect(box.run('function run() { return 2; }', {})).resolves.toMatchObject({
        ok: true,
        value: 2,
      });
      expect(started()).toBe(1);
    } finally {
      await box.close();
    }
  });

  it('still sees a real stack overflow that the tool caught and threw again', async () => {
    const result = await run(
      'function run() { let e; try { (function f() { f(); })(); } catch (x) { e = x; } throw e; }',
    );
    expect(result).toMatchObject({ ok: false, kind: 'stack' });
  });

  it('still sees memory running out when the tool catches it and throws something else', async () => {
    const result = await run(
      "function run() { const a = []; try { for (;;) a.push(new Array(100000).fill(7)); } catch { a.length = 0; throw new Error('never mind'); } }",
    );
    expect(result).toMatchObject({ ok: false, kind: 'memory' });
  });

  it('replaces the worker after a real limit', async () => {
    const { box, started } = counting();
    try {
      const bomb = await box.run(
        'function run() { const a = []; for (;;) a.push(new Array(100000).fill(7)); }',
        {},
      );
      expect(bomb).toMatchObject({ ok: false, kind: 'memory' });
      await expect(box.run('function run() { return 2; }', {})).resolves.toMatchObject({
        ok: true,
        value: 2,
      });
      expect(started()).toBe(2);
    } finally {
      await box.close();
    }
  });
});
