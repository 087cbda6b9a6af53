import { type CurationScope, visibleIn } from '../curation/curationScope.ts';
import { DIALOGUE_VISIBILITIES, type DialogueVisibility } from '../memory/interactionLog.ts';

/**
 * What a fine-tune's dataset may hold, checked again when it is frozen: only samples inside
 * `CURATION_SCOPE` (a scope narrowed since they were curated, or samples curated before their
 * visibility was kept, stay out), and at most `FINETUNE_MEMBER_SHARE` of the samples from any one
 * member, so that no member's words can dominate what the model learns.
 */

export interface SnapshotPolicy {
  scope: CurationScope;
  /** Largest share (above 0, up to 1) of the dataset from one member; 1: no cap. */
  memberShare: number;
}

/** A sample as the snapshot reads it: its provenance is plain JSON. */
interface WithMeta {
  meta?: Record<string, unknown>;
}

/** The visibility a sample's meta records; null for a sample written before it was kept. */
function visibilityOf(sample: WithMeta): DialogueVisibility | null {
  return DIALOGUE_VISIBILITIES.find((v) => v === sample.meta?.visibility) ?? null;
}

/** The members a sample's meta names (none for a sample of nobody's, or written before they were kept). */
function membersOf(sample: WithMeta): string[] {
  const members = sample.meta?.members;
  return Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [];
}

/**
 * Keeps each member's first samples (in the order given: the anchor set first, then the oldest)
 * within the share of what is kept. A sample counts for every member it names, so sharing a
 * conversation with others does not hide a member's words. Dropping samples shrinks the dataset
 * and so the share's count: repeated until it holds.
 */
function withinShare<T extends WithMeta>(samples: readonly T[], share: number): T[] {
  let kept = [...samples];
  if (share >= 1) return kept;
  for (;;) {
    const cap = Math.floor(share * kept.length);
    const counts = new Map<string, number>();
    const next = kept.filter((sample) => {
      const members = membersOf(sample);
      if (members.some((m) => (counts.get(m) ?? 0) >= cap)) return false;
      for (const m of members) counts.set(m, (counts.get(m) ?? 0) + 1);
      return true;
    });
    if (next.length === kept.length) return kept;
    kept = next;
  }
}

/** Whether a sample's dialogue lies inside the scope (a sample from before visibility was kept: only under `all`). */
export function sampleInScope(sample: WithMeta, scope: CurationScope): boolean {
  return visibleIn(visibilityOf(sample), scope);
}

/** The samples the policy admits, in their order, and how many each rule left out. */
export function admitSamples<T extends WithMeta>(
  samples: readonly T[],
  policy: SnapshotPolicy,
): { kept: T[]; outOfScope: number; overShare: number } {
  const inScope = samples.filter((sample) => sampleInScope(sample, policy.scope));
  const kept = withinShare(inScope, policy.memberShare);
  return {
    kept,
    outOfScope: samples.length - inScope.length,
    overShare: inScope.length - kept.length,
  };
}
