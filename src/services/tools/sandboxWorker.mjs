// The sandbox's worker thread: runs untrusted tool code in QuickJS (WebAssembly), one call at
// a time, each in a fresh QuickJS runtime with its own deadline, memory and stack limits.
// Plain JavaScript so that it starts without a TypeScript loader. Nothing from the host (no
// `process`, `require`, `fetch`, file system or network) exists inside QuickJS.
import { parentPort } from 'node:worker_threads';
import { getQuickJS, newQuickJSWASMModule } from 'quickjs-emscripten';

/** Runs before the tool's code: keeps the builtins the wrapper needs out of the tool's reach. */
const PRELUDE = `
'use strict';
(() => {
  // QuickJS does not count ArrayBuffer memory toward its limit: binary buffers are left out.
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
      const state = { settled: false, ok: undefined, error: undefined };
      const finish = (value) => {
        const type = typeof value;
        if (value === undefined || type === 'function' || type === 'symbol') {
          throw { name: 'NotJson', message: 'run returned ' + (value === undefined ? 'undefined' : 'a ' + type) + ', which is not a JSON value' };
        }
        let json;
        try {
          json = stringify(value);
        } catch (error) {
          throw { name: 'NotJson', message: 'the result is not JSON-serialisable: ' + describe(error).message };
        }
        if (typeof json !== 'string') throw { name: 'NotJson', message: 'the result is not a JSON value' };
        if (json.length > maxChars) {
          throw { name: 'TooLarge', message: 'the result is ' + json.length + ' characters of JSON, over the limit of ' + maxChars };
        }
        state.ok = json;
        state.settled = true;
      };
      const fail = (error) => {
        state.error = error && (error.name === 'NotJson' || error.name === 'TooLarge') ? error : describe(error);
        state.settled = true;
      };
      try {
        if (typeof run !== 'function') throw { name: 'NoEntry', message: 'the code defines no function run(input)' };
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

let modulePromise = getQuickJS();

/** QuickJS's own messages for the limits, mapped to a kind the host understands. */
function kindOf(name, message) {
  if (name === 'Crashed') return 'crashed';
  if (name === 'Interrupted') return 'timeout';
  if (name === 'InternalError' && message === 'out of memory') return 'memory';
  if (name === 'InternalError' && message === 'stack overflow') return 'stack';
  if (/^(string too long|invalid array length)/.test(message)) return 'memory';
  if (name === 'NotJson') return 'not_json';
  if (name === 'TooLarge') return 'too_large';
  if (name === 'NoEntry') return 'no_entry';
  if (name === 'SyntaxError') return 'syntax';
  return 'thrown';
}

function failure(name, message, where = '') {
  const text = String(message).slice(0, 1000) + where;
  return { ok: false, kind: kindOf(name, String(message)), name, message: text };
}

/** Reads `{name, message}` from an error handle without trusting its shape. */
function readError(ctx, handle) {
  try {
    const dumped = ctx.dump(handle);
    if (dumped && typeof dumped === 'object') {
      const where = /tool\.js:(\d+)/.exec(String(dumped.stack ?? ''));
      return failure(
        String(dumped.name ?? 'Error'),
        String(dumped.message ?? ''),
        where ? ` (tool.js line ${where[1]})` : '',
      );
    }
    return failure('Thrown', `run threw a non-error value: ${String(dumped)}`);
  } catch {
    return failure('Thrown', 'run threw a value that cannot be read');
  }
}

/** A failure once QuickJS interrupted the code is a timeout, whatever the code made of it. */
function execute(qjs, job) {
  const state = { interrupted: false };
  const outcome = executeIn(qjs, job, state);
  return state.interrupted && !outcome.ok ? failure('Interrupted', 'interrupted at the deadline') : outcome;
}

function executeIn(qjs, job, state) {
  const runtime = qjs.newRuntime();
  runtime.setMemoryLimit(job.limits.memoryBytes);
  runtime.setMaxStackSize(job.limits.stackBytes);
  const deadline = Date.now() + job.limits.timeoutMs;
  // Whether QuickJS itself stopped the code: a tool cannot pass off its own throw as a timeout.
  runtime.setInterruptHandler(() => {
    if (Date.now() > deadline) state.interrupted = true;
    return state.interrupted;
  });
  const ctx = runtime.newContext();
  let outcome;
  try {
    for (const [source, file] of [
      [PRELUDE, 'prelude.js'],
      [job.code, 'tool.js'],
    ]) {
      const result = ctx.evalCode(source, file);
      if (result.error) {
        outcome = readError(ctx, result.error);
        result.error.dispose();
        return outcome;
      }
      result.value.dispose();
    }
    const call = ctx.getProp(ctx.global, '__batCall');
    const input = ctx.newString(job.input);
    const max = ctx.newNumber(job.limits.maxResultChars);
    const result = ctx.callFunction(call, ctx.undefined, input, max);
    call.dispose();
    input.dispose();
    max.dispose();
    if (result.error) {
      outcome = readError(ctx, result.error);
      result.error.dispose();
      return outcome;
    }
    const state = result.value;
    // Promises settle through QuickJS's job queue; there are no timers or I/O inside.
    const jobs = runtime.executePendingJobs(-1);
    if (jobs.error) {
      outcome = readError(ctx, jobs.error);
      jobs.error.dispose();
      state.dispose();
      return outcome;
    }
    const settled = ctx.getProp(state, 'settled');
    const ok = ctx.getProp(state, 'ok');
    const error = ctx.getProp(state, 'error');
    if (!ctx.dump(settled)) {
      outcome = failure(
        'NeverSettled',
        'run returned a promise that never settled (there are no timers or I/O in the sandbox)',
      );
    } else if (ctx.typeof(ok) === 'string') {
      outcome = { ok: true, json: ctx.getString(ok) };
    } else {
      outcome = readError(ctx, error);
    }
    for (const handle of [settled, ok, error, state]) handle.dispose();
    return outcome;
  } finally {
    ctx.dispose();
    runtime.dispose();
  }
}

parentPort.on('message', async (job) => {
  const started = performance.now();
  let outcome;
  let broken = false;
  try {
    outcome = execute(await modulePromise, job);
  } catch (error) {
    // QuickJS aborted (a fault in the WebAssembly module): this module is done for.
    broken = true;
    outcome =
      outcome ?? failure('Crashed', `the sandbox failed: ${String(error?.message ?? error).slice(0, 300)}`);
  }
  if (broken) modulePromise = newQuickJSWASMModule();
  parentPort.postMessage({ id: job.id, ms: performance.now() - started, ...outcome });
});
