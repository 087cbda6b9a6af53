import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { Logger } from '../logger.ts';
import { resumeApproval, transition, versionRecord } from './proposalStateMachine.ts';
import type { ProposalStore } from './proposalStore.ts';

export interface RepairDeps {
  readonly store: Pick<
    ProposalStore,
    'list' | 'update' | 'active' | 'completeApproval' | 'versions' | 'addVersion'
  >;
  readonly codex: () => Codex;
  readonly codexPath: string;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * What a restart may have cut short: a draft (abandoned, so autonomy does not stay paused for
 * it) and an approval between its recorded intent and its completion (finished when the new
 * codex reached the disk, else undone: the proposal is pending again). The codex as first found
 * becomes version history's first entry.
 */
export function repairAfterRestart(deps: RepairDeps): void {
  const { store, log } = deps;
  for (const stuck of store.list(100).filter((p) => p.state === 'drafting')) {
    store.update(stuck.id, (p) => transition(p, { type: 'interrupted' }), deps.clock.now());
    log.warn({ proposal: stuck.id }, 'abandoned a draft interrupted by a restart');
  }
  repairApproval(deps);
  const current = deps.codex();
  if (!store.versions().some((v) => v.version === current.data.version)) {
    store.addVersion({ version: current.data.version, hash: current.hash, at: deps.clock.now() });
  }
}

function repairApproval(deps: RepairDeps): void {
  const { store, log } = deps;
  const approving = store.active();
  const intent = approving?.approving;
  if (!approving || !intent) return;
  let onDisk = '';
  try {
    onDisk = readFileSync(deps.codexPath, 'utf8');
  } catch {
    // No codex on disk: the write did not happen.
  }
  if (resumeApproval(intent, onDisk) === 'complete') {
    store.completeApproval(approving.id, versionRecord(approving.id, intent));
    log.warn(
      { proposal: approving.id, version: intent.version },
      'completed an approval interrupted by a restart (the codex had been written)',
    );
  } else {
    store.update(approving.id, (p) => transition(p, { type: 'approval_undone' }), deps.clock.now());
    log.warn(
      { proposal: approving.id },
      'an approval was interrupted before the codex was written; the proposal is pending again',
    );
  }
}
