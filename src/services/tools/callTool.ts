import { sha256 } from '../../shared/hash.ts';
import type { Logger } from '../logger.ts';
import { checkToolCode } from './codeGate.ts';
import { describeFailureKind, type Sandbox } from './sandbox.ts';
import type { ToolCallOutcome } from './toolPorts.ts';
import type { StoredTool } from './toolRegistry.ts';

export interface CallToolDeps {
  sandbox: Sandbox;
  /** Checks an input against the tool's schema; null when it is valid. */
  validate(tool: StoredTool, input: unknown): string | null;
  /** The static gate's verdict on each code run so far, by hash: null when it passed. */
  gated: Map<string, string | null>;
  logger: Logger;
  /** Told each sandboxed call's outcome (`ok`, or why it failed), for metrics. */
  onCall?: ((outcome: string) => void) | undefined;
}

/**
 * Calls a tool found by name (undefined: there is none in scope, `known` says which there are):
 * its input checked against its schema, its code by the static gate, run in the sandbox. Never
 * rejects: every failure is an outcome worded for the persona that called.
 */
export async function callTool(
  deps: CallToolDeps,
  call: { name: string; tool: StoredTool | undefined; known: () => string[]; input: unknown },
  signal?: AbortSignal,
): Promise<ToolCallOutcome> {
  const { name, tool, input } = call;
  if (!tool) {
    const known = call.known();
    return {
      ok: false,
      error: `there is no tool named "${name}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      ms: 0,
    };
  }
  const invalid = deps.validate(tool, input);
  if (invalid) return { ok: false, error: `the input does not match the schema: ${invalid}`, ms: 0 };
  const refused = gateVerdict(deps.gated, tool.code);
  if (refused) return { ok: false, error: `the tool's code fails the static gate: ${refused}`, ms: 0 };
  const result = await deps.sandbox.run(tool.code, input, signal ? { signal } : {});
  deps.onCall?.(result.ok ? 'ok' : result.kind);
  if (result.ok) return { ok: true, result: result.value, json: result.json, ms: result.ms };
  const what = describeFailureKind(result.kind, deps.sandbox.limits);
  deps.logger.info({ tool: name, kind: result.kind, ms: Math.round(result.ms) }, 'tool call failed');
  return { ok: false, error: `${name} ${what}: ${result.message}`, ms: result.ms };
}

/** Why the static gate refuses `code`, or null. Code edited by hand after forging must still pass it. */
function gateVerdict(gated: Map<string, string | null>, code: string): string | null {
  const hash = sha256(code);
  let verdict = gated.get(hash);
  if (verdict === undefined) {
    const checked = checkToolCode(code);
    verdict = checked.ok ? null : checked.problems.join('; ');
    gated.set(hash, verdict);
  }
  return verdict;
}
