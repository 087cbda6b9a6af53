// The sandbox's worker thread: runs untrusted tool code in QuickJS (WebAssembly), one call at
// a time, each in a fresh QuickJS runtime with its own deadline, memory and stack limits.
// Plain JavaScript so that it starts without a TypeScript loader. Nothing from the host (no
// `process`, `require`, `fetch`, file system or network) exists inside QuickJS.
import { parentPort } from 'node:worker_threads';
import {
  newQuickJSWASMModule,
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
} from 'quickjs-emscripten';

/** Runs before the tool's code: keeps the builtins the wrapper needs out of the tool's reach. */
const PRELUDE = `
'use strict';
(() => {
  // Binary buffers are left out: a tool has no use for them.
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Atomics', 'Int8Array', 'Uint8Array',
    'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float16Array',
    'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array']) {
    delete globalThis[name];
  }
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const P = Promise;
  const then = Promise.prototype.then;
  const describe = (error) => {
    try {
      if (error !== null && typeof error === 'object' && 'message' in error) {
        const name = typeof error.name === 'string' ? error.name : 'Error';
        return { name, message: String(error.message) };
      }
      return { name: 'Thrown', message: 'run threw a non-error value: ' + String(error) };
    } catch {
      return { name: 'Thrown', message: 'run threw a value that cannot be described' };
    }
  };
  Object.defineProperty(globalThis, '__batCall', {
    value: (inputJson, maxChars) => {
      // Every field is declared here: a setter the tool puts on Object.prototype never sees this object.
      // 'fault' is set by this code only: the host trusts its kind; a tool's own throw lands in 'error'.
      const state = { settled: 0, ok: undefined, error: undefined, fault: undefined };
      const fault = (kind, message) => {
        state.fault = { kind, message };
        state.settled = 1;
      };
      const finish = (value) => {
        const type = typeof value;
        if (value === undefined || type === 'function' || type === 'symbol') {
          return fault('not_json', 'run returned ' + (value === undefined ? 'undefined' : 'a ' + type) + ', which is not a JSON value');
        }
        let json;
        try {
          json = stringify(value);
        } catch (error) {
          return fault('not_json', 'the result is not JSON-serialisable: ' + describe(error).message);
        }
        if (typeof json !== 'string') return fault('not_json', 'the result is not a JSON value');
        if (json.length > maxChars) {
          return fault('too_large', 'the result is ' + json.length + ' characters of JSON, over the limit of ' + maxChars);
        }
        state.ok = json;
        state.settled = 1;
      };
      const fail = (error) => {
        state.error = describe(error);
        state.settled = 1;
      };
      try {
        if (typeof run !== 'function') return fault('no_entry', 'the code defines no function run(input)'), state;
        const value = run(parse(inputJson));
        if (value instanceof P) then.call(value, (v) => { try { finish(v); } catch (e) { fail(e); } }, fail);
        else finish(value);
      } catch (error) {
        fail(error);
      }
      return state;
    },
  });
})();
`;

const PAGE = 64 * 1024;
/** Pages of WebAssembly memory the QuickJS build starts with (its declared minimum: 16 MiB). */
const INITIAL_PAGES = 256;
/** Canary written below QuickJS's stack limit and above it: what a call overwrote, it used. */
const CANARY = 0xa5;
/** Bytes below the stack limit watched too (error handling runs a little past the limit). */
const STACK_GUARD = 64 * 1024;
/** A call whose frames came this close to the stack limit exhausted its stack. */
const STACK_SLACK = 8 * 1024;

/**
 * A QuickJS module and what the worker observes of it. The module gets its own WebAssembly
 * memory, whose growth the worker watches and caps: on WebAssembly QuickJS cannot measure its
 * allocations (it counts 8 bytes a block: its memory limit does not hold), so the cap is the
 * limit, and a refused growth is how the worker knows a call ran out of memory — whatever the
 * call then threw.
 */
async function createEngine() {
  const engine = { module: undefined, capBytes: Number.POSITIVE_INFINITY, refused: false, stackWord: -1 };
  try {
    const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: 32768 });
    const grow = memory.grow.bind(memory);
    memory.grow = (pages) => {
      if (memory.buffer.byteLength + pages * PAGE > engine.capBytes) {
        engine.refused = true;
        throw new RangeError('the sandbox memory limit');
      }
      return grow(pages);
    };
    engine.module = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
    engine.initialBytes = INITIAL_PAGES * PAGE;
  } catch {
    // A build that declares other memory: run without the cap (memory failures then read as thrown).
    engine.module = await newQuickJSWASMModule();
  }
  engine.stackWord = locateStackFields(engine.module);
  return engine;
}

/**
 * Finds QuickJS's `stack_size, stack_top, stack_limit` fields in its runtime struct (as 32-bit
 * words from the struct's start) by setting two stack sizes and looking for the words that
 * follow them; -1 when they cannot be found (stack overflows then read as thrown).
 */
function locateStackFields(module) {
  const runtime = module.newRuntime();
  try {
    const base = runtime.rt.value >> 2;
    const words = () => new Uint32Array(heapOf(module).buffer).slice(base, base + 64);
    runtime.setMaxStackSize(0x12340);
    const a = words();
    runtime.setMaxStackSize(0x23450);
    const b = words();
    for (let k = 0; k + 2 < a.length; k++) {
      if (a[k] !== 0x12340 || b[k] !== 0x23450 || a[k + 1] !== b[k + 1]) continue;
      if (a[k + 2] === a[k + 1] - 0x12340 && b[k + 2] === b[k + 1] - 0x23450) return k;
    }
    return -1;
  } catch {
    return -1;
  } finally {
    runtime.dispose();
  }
}

/** The module's memory as bytes (a new view after every growth). */
const heapOf = (module) => module.module.HEAPU8;

let enginePromise;

/** Marks the stack below the call's limit; the returned function says whether the call reached it. */
function watchStack(engine, runtime, stackBytes) {
  if (engine.stackWord < 0) return () => false;
  const heap = () => heapOf(engine.module);
  const words = new Uint32Array(heap().buffer);
  const base = (runtime.rt.value >> 2) + engine.stackWord;
  const [size, top, limit] = [words[base], words[base + 1], words[base + 2]];
  // Only within the 5 MiB stack QuickJS was built with, and only below where the host's frames are.
  if (size !== stackBytes || stackBytes + STACK_GUARD > 4 * 1024 * 1024 || limit < STACK_GUARD)
    return () => false;
  const from = limit - STACK_GUARD;
  const to = top - 4096;
  heap().fill(CANARY, from, to);
  return () => {
    const bytes = heap();
    let low = from;
    while (low < to && bytes[low] === CANARY) low++;
    return low < limit + STACK_SLACK;
  };
}

/** A failure; its kind is the host's finding, never the tool's say. */
function failure(kind, message, where = '') {
  return { ok: false, kind, message: String(message).slice(0, 1000) + where };
}

/**
 * Reads the message of an error handle without trusting its shape (its name decides nothing).
 * If reading it makes the module itself fail, that propagates: the module is done for.
 */
function readError(ctx, handle, kind = 'thrown') {
  const dumped = ctx.dump(handle);
  if (dumped && typeof dumped === 'object') {
    const where = /tool\.js:(\d+)/.exec(String(dumped.stack ?? ''));
    return failure(kind, String(dumped.message ?? ''), where ? ` (tool.js line ${where[1]})` : '');
  }
  return failure(kind, `run threw a non-error value: ${String(dumped)}`);
}

/** A string property of an object the prelude made (own data properties: no tool code runs). */
function stringProp(ctx, object, name) {
  const handle = ctx.getProp(object, name);
  try {
    return ctx.typeof(handle) === 'string' ? ctx.getString(handle) : undefined;
  } finally {
    handle.dispose();
  }
}

/**
 * Runs one call and classifies a failure by what the worker saw: the interrupt handler stopping
 * the code past its deadline (timeout), a refused memory growth (memory), the stack used down
 * to its limit (stack). What the code threw — a name, a message — is only ever shown.
 */
function execute(engine, job) {
  const seen = { interrupted: false };
  engine.capBytes = (engine.initialBytes ?? 0) + job.limits.memoryBytes;
  engine.refused = false;
  const runtime = engine.module.newRuntime();
  let stackReached = () => false;
  let outcome;
  try {
    runtime.setMaxStackSize(job.limits.stackBytes);
    stackReached = watchStack(engine, runtime, job.limits.stackBytes);
    outcome = executeIn(runtime, job, seen);
  } finally {
    runtime.dispose();
  }
  const stack = stackReached();
  // Past its deadline a call has failed, even if it produced a value first (promise jobs can
  // keep it running after run returns; QuickJS lets a promise job swallow the interrupt).
  if (seen.interrupted) return failure('timeout', 'interrupted at the deadline');
  if (outcome.ok) return engine.refused ? { ...outcome, recycle: true } : outcome;
  if (engine.refused) {
    const mb = Math.round(job.limits.memoryBytes / 1024 / 1024);
    return failure('memory', `out of memory: the call needed more than its ${mb} MB`);
  }
  if (stack)
    return failure(
      'stack',
      `stack overflow: the call used up its ${job.limits.stackBytes / 1024} KB of stack`,
    );
  return outcome;
}

function executeIn(runtime, job, seen) {
  const deadline = Date.now() + job.limits.timeoutMs;
  // Whether QuickJS itself stopped the code: a tool cannot pass off its own throw as a timeout.
  runtime.setInterruptHandler(() => {
    if (Date.now() > deadline) seen.interrupted = true;
    return seen.interrupted;
  });
  const ctx = runtime.newContext();
  try {
    const prelude = ctx.evalCode(PRELUDE, 'prelude.js');
    if (prelude.error) {
      const outcome = readError(ctx, prelude.error);
      prelude.error.dispose();
      return outcome;
    }
    prelude.value.dispose();
    // A syntax error is what the parser reports; a SyntaxError the code throws when it runs is thrown.
    const compiled = ctx.evalCode(job.code, 'tool.js', { compileOnly: true });
    if (compiled.error) {
      const outcome = readError(ctx, compiled.error, 'syntax');
      compiled.error.dispose();
      return outcome;
    }
    compiled.value.dispose();
    const evaluated = ctx.evalCode(job.code, 'tool.js');
    if (evaluated.error) {
      const outcome = readError(ctx, evaluated.error);
      evaluated.error.dispose();
      return outcome;
    }
    evaluated.value.dispose();
    const call = ctx.getProp(ctx.global, '__batCall');
    const input = ctx.newString(job.input);
    const max = ctx.newNumber(job.limits.maxResultChars);
    const result = ctx.callFunction(call, ctx.undefined, input, max);
    call.dispose();
    input.dispose();
    max.dispose();
    if (result.error) {
      const outcome = readError(ctx, result.error);
      result.error.dispose();
      return outcome;
    }
    const state = result.value;
    try {
      // Promises settle through QuickJS's job queue; there are no timers or I/O inside.
      const jobs = runtime.executePendingJobs(-1);
      if (jobs.error) {
        const outcome = readError(ctx, jobs.error);
        jobs.error.dispose();
        return outcome;
      }
      return readState(ctx, state);
    } finally {
      state.dispose();
    }
  } finally {
    ctx.dispose();
  }
}

/** Reads the prelude's record of the call: a JSON result, its own finding (fault), or the tool's throw. */
function readState(ctx, state) {
  const settled = ctx.getProp(state, 'settled');
  const done = ctx.typeof(settled) === 'number' && ctx.getNumber(settled) === 1;
  settled.dispose();
  if (!done) {
    return failure(
      'thrown',
      'run returned a promise that never settled (there are no timers or I/O in the sandbox)',
    );
  }
  const ok = stringProp(ctx, state, 'ok');
  if (ok !== undefined) return { ok: true, json: ok };
  const fault = ctx.getProp(state, 'fault');
  try {
    if (ctx.typeof(fault) === 'object') {
      const kind = stringProp(ctx, fault, 'kind');
      if (kind === 'not_json' || kind === 'too_large' || kind === 'no_entry') {
        return failure(kind, stringProp(ctx, fault, 'message') ?? kind);
      }
    }
  } finally {
    fault.dispose();
  }
  const error = ctx.getProp(state, 'error');
  try {
    return failure(
      'thrown',
      (ctx.typeof(error) === 'object' && stringProp(ctx, error, 'message')) || 'run failed',
    );
  } finally {
    error.dispose();
  }
}

parentPort.on('message', async (job) => {
  const started = performance.now();
  let outcome;
  let broken = false;
  try {
    enginePromise ??= createEngine();
    const engine = await enginePromise;
    // From here the call's deadline runs: the host arms its watchdog (starting a module is not the call's time).
    parentPort.postMessage({ id: job.id, started: true });
    outcome = execute(engine, job);
  } catch (error) {
    // The WebAssembly module itself failed (an abort, a trap, the host's stack exhausted by it):
    // this module is done for; the next call gets a fresh one.
    broken = true;
    outcome = failure('crashed', `the sandbox failed: ${String(error?.message ?? error).slice(0, 300)}`);
  }
  if (broken) enginePromise = undefined;
  parentPort.postMessage({ id: job.id, ms: performance.now() - started, ...outcome });
});
