import { describeFailureKind, type Sandbox } from './sandbox.ts';
import type { ToolDesign } from './toolDesign.ts';
import { showJson } from './toolForgePrompts.ts';
import type { ToolTestRecord } from './toolRegistry.ts';

/** JSON equality, with a little slack for floating point. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
    );
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k) => k in b && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/**
 * Runs forged code against every test of its design in the sandbox (the last test is held out);
 * returns the records and the first failure, worded for the model that wrote the code.
 */
export async function runToolTests(
  sandbox: Sandbox,
  code: string,
  tests: ToolDesign['tests'],
  signal?: AbortSignal,
): Promise<{ records: ToolTestRecord[]; failure: string | undefined }> {
  const heldOut = tests.length - 1;
  const records: ToolTestRecord[] = [];
  let failure: string | undefined;
  for (const [i, example] of tests.entries()) {
    const result = await sandbox.run(code, example.input, signal ? { signal } : {});
    const record: ToolTestRecord = {
      input: example.input,
      expected: example.expected,
      heldOut: i === heldOut,
      passed: result.ok && sameJson(result.value, example.expected),
      ms: Math.round(result.ms * 100) / 100,
    };
    if (result.ok) record.actual = result.value;
    else record.error = `${describeFailureKind(result.kind, sandbox.limits)}: ${result.message}`;
    records.push(record);
    if (record.passed || failure) continue;
    if (record.heldOut) {
      // The held-out case stays unseen: say that it failed, not what it was.
      failure =
        'a held-out test you have not seen failed; re-read the specification for cases your code does not handle';
    } else {
      failure = `test ${i + 1}: run(${showJson(example.input)}) should return ${showJson(example.expected)} but ${
        result.ok ? `returned ${showJson(result.value)}` : record.error
      }`;
    }
  }
  return { records, failure };
}
