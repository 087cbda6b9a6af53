import { SqliteStore } from '../sqliteStore.ts';

/**
 * The durable record of the philosophical loop (`DATA_DIR/governance.sqlite`): every proposal
 * with its base codex hash, diff, legislative history and state, and every codex version with
 * who ratified it. The state lives here, never in a Discord message, so buttons keep working
 * after a restart.
 */

export type ProposalState = 'drafting' | 'pending' | 'approved' | 'rejected' | 'stale' | 'abandoned';
export type ProposalKind = 'amendment' | 'rollback';

/** One entry of the legislative history, in order. */
export interface HistoryEntry {
  kind: 'evidence' | 'draft' | 'refusal' | 'review' | 'note';
  title: string;
  text: string;
  at: number;
  /** For evidence: the dialogue's id in the interaction log. */
  recordId?: string;
  /**
   * For evidence: whether the readers the proposal was drafted for may read the dialogue, decided
   * when it was drafted. Its words are kept only when they may. Absent in proposals drafted
   * before this was kept: those show a dialogue's words only where it is readable now.
   */
  shown?: boolean;
  /** For evidence: the dialogue was forgotten, and its words removed. */
  forgotten?: boolean;
}

export interface Proposal {
  id: string;
  kind: ProposalKind;
  state: ProposalState;
  title: string;
  /** The principle(s) changed, in a line each. */
  principles: string[];
  rationale: string;
  consequences: string;
  /** sha256 and version of the codex it was drafted against. */
  baseHash: string;
  baseVersion: number;
  /** The amended codex TOML, once drafted. */
  newCodex: string;
  /** Unified diff from the base codex to `newCodex`. */
  diff: string;
  history: HistoryEntry[];
  /** Interaction-log ids of the dissonant dialogues it answers. */
  evidence: string[];
  /**
   * The channel whose readers it was drafted for (where it is to be posted): its evidence was
   * judged readable or not for them. Absent when there was none (then nothing was shown) and in
   * proposals drafted before this was kept.
   */
  draftedFor?: string;
  /** Who asked: `system` (persistent dissonance) or a Discord user id. */
  requestedBy: string;
  createdAt: number;
  updatedAt: number;
  /** Where its Discord message is. */
  channelId?: string;
  messageId?: string;
  threadId?: string;
  /** Architects who opened the history (only they may approve). */
  openedBy: string[];
  decidedBy?: string;
  decidedAt?: number;
  /** Why it was abandoned or went stale. */
  reason?: string;
  /** The codex version it produced, once approved. */
  newVersion?: number;
  /** For a rollback: the version it restores. */
  rollbackTo?: number;
  /** Abandoned because the bot stopped mid-draft (its evidence is still unanswered). */
  interrupted?: boolean;
  /** The whole history has been posted in its thread. */
  historyPosted?: boolean;
  /**
   * An approval in progress: recorded before the codex is written, cleared when the approval is
   * complete. Found at start, it is finished (the codex on disk has `hash`) or undone.
   */
  approving?:
    | { version: number; hash: string; by: string; at: number; archivedPrevious?: string }
    | undefined;
}

export interface CodexVersion {
  version: number;
  hash: string;
  /** The proposal that produced it; none for the codex as first found. */
  proposalId?: string;
  approvedBy?: string;
  at: number;
  /** Where the codex it replaced was archived. */
  archivedPrevious?: string;
}

interface CodexVersionRow {
  version: number;
  hash: string;
  proposal_id: string | null;
  approved_by: string | null;
  at: number;
  archived_previous: string | null;
}

const ACTIVE: ProposalState[] = ['drafting', 'pending'];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS proposals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS proposals_state ON proposals (state);
  CREATE TABLE IF NOT EXISTS codex_versions (
    version INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    proposal_id TEXT,
    approved_by TEXT,
    at INTEGER NOT NULL,
    archived_previous TEXT
  );
`;

export class ProposalStore extends SqliteStore {
  constructor(dataDir: string) {
    super(dataDir, 'governance.sqlite', SCHEMA);
  }

  /** The next proposal id: `p1`, `p2`, … */
  nextId(): string {
    return `p${this.lastSeq('proposals') + 1}`;
  }

  create(proposal: Proposal): Proposal {
    this.run(
      'INSERT INTO proposals (id, state, data) VALUES (?, ?, ?)',
      proposal.id,
      proposal.state,
      JSON.stringify(proposal),
    );
    return proposal;
  }

  get(id: string): Proposal | undefined {
    return this.document<Proposal>('SELECT id, data FROM proposals WHERE id = ?', id);
  }

  /** Applies a change to a proposal and stores it; returns the new proposal. */
  update(id: string, change: (proposal: Proposal) => Partial<Proposal>, at: number): Proposal {
    const current = this.get(id);
    if (!current) throw new Error(`no proposal ${id}`);
    return this.updateDocument('proposals', current, change(current), at);
  }

  /** The proposal being drafted or awaiting a decision, if any (there is at most one). */
  active(): Proposal | undefined {
    return this.document<Proposal>(
      `SELECT id, data FROM proposals WHERE state IN (${ACTIVE.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
      ...ACTIVE,
    );
  }

  /** Proposals, newest first. */
  list(limit = 25): Proposal[] {
    return this.documents<Proposal>('SELECT id, data FROM proposals ORDER BY seq DESC LIMIT ?', limit);
  }

  /** Proposals whose evidence includes any of these interaction-log ids, oldest first. */
  citing(recordIds: ReadonlySet<string>): Proposal[] {
    return this.documents<Proposal>('SELECT data FROM proposals ORDER BY seq').filter((proposal) =>
      proposal.evidence.some((id) => recordIds.has(id)),
    );
  }

  /**
   * Interaction-log ids already answered by a proposal: drafting, pending, decided, or abandoned
   * (so failing drafts are not retried on every new dialogue), unless a restart cut it short.
   */
  answered(): Set<string> {
    const ids = new Set<string>();
    for (const proposal of this.documents<Proposal>('SELECT data FROM proposals')) {
      if (proposal.interrupted) continue;
      for (const id of proposal.evidence) ids.add(id);
    }
    return ids;
  }

  /**
   * Marks an approval done in one transaction: the proposal approved (its intent cleared) and the
   * new version recorded. A version row is never replaced: a second one for the same version throws.
   */
  completeApproval(id: string, version: CodexVersion & { proposalId: string; approvedBy: string }): Proposal {
    return this.transaction(() => {
      const approved = this.update(
        id,
        () => ({
          state: 'approved',
          decidedBy: version.approvedBy,
          decidedAt: version.at,
          newVersion: version.version,
          approving: undefined,
        }),
        version.at,
      );
      this.addVersion(version);
      return approved;
    });
  }

  /** Records a codex version; throws if that version is already recorded (history is never rewritten). */
  addVersion(version: CodexVersion): void {
    this.run(
      'INSERT INTO codex_versions (version, hash, proposal_id, approved_by, at, archived_previous) VALUES (?, ?, ?, ?, ?, ?)',
      version.version,
      version.hash,
      version.proposalId ?? null,
      version.approvedBy ?? null,
      version.at,
      version.archivedPrevious ?? null,
    );
  }

  /** Every known codex version, oldest first. */
  versions(): CodexVersion[] {
    return this.rows<CodexVersionRow>('SELECT * FROM codex_versions ORDER BY version').map((row) => ({
      version: row.version,
      hash: row.hash,
      at: row.at,
      ...(row.proposal_id ? { proposalId: row.proposal_id } : {}),
      ...(row.approved_by ? { approvedBy: row.approved_by } : {}),
      ...(row.archived_previous ? { archivedPrevious: row.archived_previous } : {}),
    }));
  }
}
