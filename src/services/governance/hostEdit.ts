import { sha256 } from '../../shared/hash.ts';
import { type Codex, CodexError, parseCodex } from '../codex/loadCodex.ts';
import type { CodexInForce } from './amendmentDecisions.ts';
import { archiveCodex, withVersionLine, writeCodexUnlessChanged } from './codexFile.ts';
import { transition } from './proposalStateMachine.ts';
import type { CodexVersion, Proposal, ProposalStore } from './proposalStore.ts';

/** What became of an edit of the codex on the host. */
export type HostEdit =
  | { ok: true; version: number; stale?: Proposal }
  | { ok: false; code: 'INVALID'; problems: string[] }
  | { ok: false; code: 'UNCHANGED' }
  /** The file changed again before its version line could be written back: the newer edit comes next. */
  | { ok: false; code: 'CHANGED' };

export interface HostEditDeps extends CodexInForce {
  readonly store: Pick<ProposalStore, 'active' | 'addVersion' | 'update' | 'versions'>;
}

/**
 * The operator edited `codex.toml` on the host: the new text is checked like any codex (file,
 * line and key on a problem — the old codex then stays in force), recorded in the history as
 * "edited on the host" under the next version (the version line is set when the operator did
 * not raise it), and put in force. A proposal drafted against the old text goes stale. The
 * caller runs one codex change at a time in this process.
 */
export async function adoptHostEdit(deps: HostEditDeps, text: string): Promise<HostEdit> {
  const current = deps.codex();
  if (sha256(text) === current.hash) return { ok: false, code: 'UNCHANGED' };
  const parsed = parseHostEdit(deps, text);
  if (!parsed.ok) return parsed;
  const adopted = versionedHostEdit(deps, current, text, parsed.codex, await deps.store.versions());
  if (!adopted.ok) return adopted;
  const version = adopted.codex.data.version;
  const archivedPrevious = archiveCodex(deps.dataDir, current.data.version, current.source);
  await deps.store.addVersion({
    version,
    hash: adopted.codex.hash,
    approvedBy: 'host',
    at: deps.clock.now(),
    archivedPrevious,
  });
  const stale = await staleActiveProposal(deps);
  deps.applyCodex(adopted.codex);
  deps.log.info({ version }, 'the codex was edited on the host; in force now');
  deps.bus.publish('codex_edited', { version, ...(stale ? { stale } : {}) });
  return { ok: true, version, ...(stale ? { stale } : {}) };
}

/** The edited text parsed, or its problems (published, so the operator hears of them). */
function parseHostEdit(
  deps: Pick<HostEditDeps, 'codexPath' | 'bus' | 'log'>,
  text: string,
): { ok: true; codex: Codex } | (HostEdit & { ok: false }) {
  try {
    return { ok: true, codex: parseCodex(text, deps.codexPath) };
  } catch (error) {
    if (!(error instanceof CodexError)) throw error;
    const problems = error.problems.map(
      (p) => `${deps.codexPath}${p.line ? `:${p.line}` : ''}${p.key ? ` ${p.key}` : ''}: ${p.message}`,
    );
    deps.log.warn({ problems }, 'an edit of the codex on the host was refused; the old codex stays in force');
    deps.bus.publish('codex_refused', { problems });
    return { ok: false, code: 'INVALID', problems };
  }
}

/**
 * Every text in force has its own version: an edit that kept the number gets the next one,
 * written back to the file — unless the operator saved again since `text` was read: their newer
 * edit is never written over, and it is the one adopted next (the watcher brings it).
 */
function versionedHostEdit(
  deps: Pick<HostEditDeps, 'codexPath' | 'log'>,
  current: Codex,
  text: string,
  parsed: Codex,
  versions: readonly CodexVersion[],
): { ok: true; codex: Codex } | (HostEdit & { ok: false }) {
  const recorded = Math.max(current.data.version, ...versions.map((v) => v.version));
  if (parsed.data.version > recorded) return { ok: true, codex: parsed };
  const adopted = parseCodex(withVersionLine(text, recorded + 1), deps.codexPath);
  if (adopted.data.version !== recorded + 1) {
    return {
      ok: false,
      code: 'INVALID',
      problems: [
        `${deps.codexPath}: the top-level \`version\` must be a plain \`version = N\` line before the first table`,
      ],
    };
  }
  if (!writeCodexUnlessChanged(deps.codexPath, adopted.source, sha256(text))) {
    deps.log.info(
      'the codex changed again on the host before its version was written back; the newer edit is read next',
    );
    return { ok: false, code: 'CHANGED' };
  }
  return { ok: true, codex: adopted };
}

/**
 * A proposal drafted or pending against the old text goes stale (one being approved elsewhere
 * meets the edit when it writes the codex, and goes stale there).
 */
async function staleActiveProposal(
  deps: Pick<HostEditDeps, 'store' | 'clock' | 'log'>,
): Promise<Proposal | undefined> {
  const active = await deps.store.active();
  if (!active) return undefined;
  const at = deps.clock.now();
  const reason = 'the codex was edited on the host after it was drafted';
  const stale = await deps.store.update(
    active.id,
    (p) => transition(p, { type: 'went_stale', reason, at }),
    at,
  );
  if (stale.state !== 'stale') return undefined;
  deps.log.warn({ proposal: active.id }, 'the codex was edited on the host: the pending proposal is stale');
  return stale;
}
