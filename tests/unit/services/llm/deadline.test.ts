import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deadlineSignal } from '../../../../src/services/llm/deadline.ts';
import { REPO_ROOT } from '../../../support/fixtures.ts';

describe('deadlineSignal', () => {
  it('aborts with a TimeoutError at the deadline, or with the reason of a source signal', async () => {
    const timed = deadlineSignal(20);
    await new Promise((resolve) => timed.signal.addEventListener('abort', resolve));
    expect((timed.signal.reason as Error).name).toBe('TimeoutError');

    const source = new AbortController();
    const forwarded = deadlineSignal(10_000, source.signal);
    source.abort(new Error('shutting down'));
    expect((forwarded.signal.reason as Error).message).toBe('shutting down');
    forwarded.clear();
  });

  // AbortSignal.any([AbortSignal.timeout(…)]) never fired on Node 20 once the GC ran: a model
  // call then waited for Ollama however long it took, past OLLAMA_TIMEOUT_MS.
  it('still fires while the garbage collector runs', async () => {
    const result = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', 'tests/support/scripts/deadlineUnderGc.ts'],
        { cwd: REPO_ROOT, timeout: 20_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const { outcome, gc } = JSON.parse(result);
    expect(gc).toBe(true);
    expect(outcome).toBe('TimeoutError');
  });
});
