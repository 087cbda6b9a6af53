import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { ProcessOwner } from '../db/processOwner.ts';
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
  /** Whether the process that began a draft or an approval still lives (`processOwner.ts`). */
  readonly owner: Pick<ProcessOwner, 'alive'>;
}

/**
 * What a restart may have cut short: a draft (abandoned, so autonomy does not stay paused for
 * it) and an approval between its recorded intent and its completion (finished when the new
 * codex reached the disk, else undone: the proposal is pending again). Only a dead process's:
 * with several processes on one database, a draft or an approval another live process is still
 * working on is left alone (undone, its codex write could still land under a pending proposal).
 * The codex as first found becomes version history's first entry.
 */
export async function repairAfterRestart(deps: RepairDeps): Promise<void> {
  const { store, log } = deps;
  for (const stuck of (await store.list(100)).filter((p) => p.state === 'drafting')) {
    if (await deps.owner.alive(stuck.owner)) {
      log.info({ proposal: stuck.id }, 'a draft another process is writing is left to it');
      continue;
    }
    const abandoned = await store.update(
      stuck.id,
      (p) => transition(p, { type: 'interrupted' }),
      deps.clock.now(),
    );
    if (abandoned.state === 'abandoned')
      log.warn({ proposal: stuck.id }, 'abandoned a draft interrupted by a restart');
  }
  await repairApproval(deps);
  const current = deps.codex();
  const recorded = async () => (await store.versions()).some((v) => v.version === current.data.version);
  if (await recorded()) return;
  try {
    await store.addVersion({ version: current.data.version, hash: current.hash, at: deps.clock.now() });
  } catch (error) {
    // Another process starting beside this one recorded it first.
    if (!(await recorded())) throw error;
  }
}

async function repairApproval(deps: RepairDeps): Promise<void> {
  const { store, log } = deps;
  const approving = await store.active();
  const intent = approving?.approving;
  if (!approving || !intent) return;
  if (await deps.owner.alive(intent.owner)) {
    log.info({ proposal: approving.id }, 'an approval another process is making is left to it');
    return;
  }
  let onDisk = '';
  try {
    onDisk = readFileSync(deps.codexPath, 'utf8');
  } catch {
    // No codex on disk: the write did not happen.
  }
  if (resumeApproval(intent, onDisk) === 'complete') {
    await store.completeApproval(approving.id, versionRecord(approving.id, intent));
    log.warn(
      { proposal: approving.id, version: intent.version },
      'completed an approval interrupted by a restart (the codex had been written)',
    );
  } else {
    await store.update(approving.id, (p) => transition(p, { type: 'approval_undone' }), deps.clock.now());
    log.warn(
      { proposal: approving.id },
      'an approval was interrupted before the codex was written; the proposal is pending again',
    );
  }
}
