import type { Migration } from '../db/migrations.ts';
import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { autoKey, documentOf, SqlStore, updateDocument } from '../db/sqlStore.ts';

/**
 * The durable record of the philosophical loop (`DATA_DIR/governance.sqlite`, or the schema
 * `batos_governance` behind `DATABASE_URL`): every proposal with its base codex hash, diff,
 * legislative history and state, and every codex version with who ratified it. The state lives
 * here, never in a Discord message, so buttons keep working after a restart, and in another
 * process. An approval's intent is part of its proposal (`approving`), not a table of its own.
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
  /**
   * The process that began it (`processOwner.ts`): a draft whose process died is abandoned at the
   * next start of any process, one a live process still drafts is left alone. Absent in proposals
   * older than several processes: such a draft belongs to nobody alive.
   */
  owner?: string;
  /** Abandoned because the bot stopped mid-draft (its evidence is still unanswered). */
  interrupted?: boolean;
  /** The whole history has been posted in its thread. */
  historyPosted?: boolean;
  /**
   * An approval in progress: recorded before the codex is written, cleared when the approval is
   * complete. Found at start, it is finished (the codex on disk has `hash`) or undone — unless
   * `owner`, the process approving it, still lives: its write may yet land.
   */
  approving?:
    | {
        version: number;
        hash: string;
        by: string;
        at: number;
        archivedPrevious?: string;
        owner?: string;
      }
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

/** A proposal started, or the one already drafted or pending that stood in its way. */
export type Started = { ok: true; proposal: Proposal } | { ok: false; active: Proposal };

const ACTIVE: ProposalState[] = ['drafting', 'pending'];

/**
 * What every check-then-write on the proposals holds (a start, a change, an approval's
 * completion): another process's waits for it, so "at most one active proposal" and "an
 * approval completes once" hold across processes sharing PostgreSQL.
 */
const PROPOSALS_LOCK = 'batos:governance:proposals';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'proposals and codex versions',
    // The schema as it was before migrations, so an existing file reads unchanged.
    up: (tx) => {
      const integer = tx.dialect === 'postgres' ? 'BIGINT' : 'INTEGER';
      return tx.exec(`
        CREATE TABLE IF NOT EXISTS proposals (
          ${autoKey(tx)},
          id TEXT NOT NULL UNIQUE,
          state TEXT NOT NULL,
          data TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS proposals_state ON proposals (state);
        CREATE TABLE IF NOT EXISTS codex_versions (
          version ${integer} PRIMARY KEY,
          hash TEXT NOT NULL,
          proposal_id TEXT,
          approved_by TEXT,
          at ${integer} NOT NULL,
          archived_previous TEXT
        );
      `);
    },
  },
];

const proposalIn = async (session: SqlSession, id: string) =>
  documentOf<Proposal>(await session.get('SELECT id, data FROM proposals WHERE id = ?', [id]));

const activeIn = async (session: SqlSession) =>
  documentOf<Proposal>(
    await session.get(
      `SELECT id, data FROM proposals WHERE state IN (${ACTIVE.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
      ACTIVE,
    ),
  );

/** `p` and the number after the newest row's (proposals are never deleted, so no number comes twice). */
const nextIdIn = async (session: SqlSession) =>
  `p${((await session.get<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM proposals'))?.seq ?? 0) + 1}`;

const insertIn = (session: SqlSession, proposal: Proposal) =>
  session.run('INSERT INTO proposals (id, state, data) VALUES (?, ?, ?)', [
    proposal.id,
    proposal.state,
    JSON.stringify(proposal),
  ]);

const addVersionIn = (session: SqlSession, version: CodexVersion) =>
  session.run(
    'INSERT INTO codex_versions (version, hash, proposal_id, approved_by, at, archived_previous) VALUES (?, ?, ?, ?, ?, ?)',
    [
      version.version,
      version.hash,
      version.proposalId ?? null,
      version.approvedBy ?? null,
      version.at,
      version.archivedPrevious ?? null,
    ],
  );

export class ProposalStore extends SqlStore {
  private constructor(db: SqlDatabase) {
    super(db);
  }

  /** Opens the store where `location` says, its schema brought up to date. */
  static async open(location: StoreLocation): Promise<ProposalStore> {
    return new ProposalStore(
      await openStoreDatabase(location, {
        file: 'governance.sqlite',
        schema: 'governance',
        migrations: MIGRATIONS,
      }),
    );
  }

  /** The next proposal id: `p1`, `p2`, … (a start takes it under the lock: see {@link createUnlessActive}). */
  nextId(): Promise<string> {
    return nextIdIn(this.db);
  }

  async create(proposal: Proposal): Promise<Proposal> {
    await insertIn(this.db, proposal);
    return proposal;
  }

  /**
   * Stores the proposal `make` builds with the next id, unless one is being drafted or awaits a
   * decision: then nothing is stored and that one is returned. Checked and written under the
   * proposals' lock, so two triggers (in this process or another) never both start one.
   */
  createUnlessActive(make: (id: string) => Proposal): Promise<Started> {
    return this.transaction(async (tx): Promise<Started> => {
      const active = await activeIn(tx);
      if (active) return { ok: false, active };
      const proposal = make(await nextIdIn(tx));
      await insertIn(tx, proposal);
      return { ok: true, proposal };
    }, PROPOSALS_LOCK);
  }

  get(id: string): Promise<Proposal | undefined> {
    return proposalIn(this.db, id);
  }

  /**
   * Applies a change to the proposal as stored now and stores it; returns the new proposal.
   * Read and written under the proposals' lock: a change made meanwhile by another process is
   * what `change` sees, never lost. A change of nothing (a refusal) writes nothing.
   */
  update(id: string, change: (proposal: Proposal) => Partial<Proposal>, at: number): Promise<Proposal> {
    return this.transaction(async (tx) => {
      const current = await proposalIn(tx, id);
      if (!current) throw new Error(`no proposal ${id}`);
      const changed = change(current);
      if (Object.keys(changed).length === 0) return current;
      return updateDocument(tx, 'proposals', current, changed, at);
    }, PROPOSALS_LOCK);
  }

  /** The proposal being drafted or awaiting a decision, if any (there is at most one). */
  active(): Promise<Proposal | undefined> {
    return activeIn(this.db);
  }

  /** Proposals, newest first; a negative limit is no limit. */
  list(limit = 25): Promise<Proposal[]> {
    return limit < 0
      ? this.documents<Proposal>('SELECT id, data FROM proposals ORDER BY seq DESC')
      : this.documents<Proposal>('SELECT id, data FROM proposals ORDER BY seq DESC LIMIT ?', limit);
  }

  /** Proposals whose evidence includes any of these interaction-log ids, oldest first. */
  async citing(recordIds: ReadonlySet<string>): Promise<Proposal[]> {
    return (await this.documents<Proposal>('SELECT data FROM proposals ORDER BY seq')).filter((proposal) =>
      proposal.evidence.some((id) => recordIds.has(id)),
    );
  }

  /**
   * Interaction-log ids already answered by a proposal: drafting, pending, decided, or abandoned
   * (so failing drafts are not retried on every new dialogue), unless a restart cut it short.
   */
  async answered(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const proposal of await this.documents<Proposal>('SELECT data FROM proposals')) {
      if (proposal.interrupted) continue;
      for (const id of proposal.evidence) ids.add(id);
    }
    return ids;
  }

  /**
   * Marks an approval done in one transaction: the proposal approved (its intent cleared) and the
   * new version recorded. A version row is never replaced: a second one for the same version
   * throws. Done once: an approval another process already completed (its repair at start) is
   * returned as it is.
   */
  completeApproval(
    id: string,
    version: CodexVersion & { proposalId: string; approvedBy: string },
  ): Promise<Proposal> {
    return this.transaction(async (tx) => {
      const current = await proposalIn(tx, id);
      if (!current) throw new Error(`no proposal ${id}`);
      if (current.state === 'approved' && current.newVersion === version.version) return current;
      const approved = await updateDocument(
        tx,
        'proposals',
        current,
        {
          state: 'approved',
          decidedBy: version.approvedBy,
          decidedAt: version.at,
          newVersion: version.version,
          approving: undefined,
        },
        version.at,
      );
      await addVersionIn(tx, version);
      return approved;
    }, PROPOSALS_LOCK);
  }

  /** Records a codex version; throws if that version is already recorded (history is never rewritten). */
  async addVersion(version: CodexVersion): Promise<void> {
    await addVersionIn(this.db, version);
  }

  /** Every known codex version, oldest first. */
  async versions(): Promise<CodexVersion[]> {
    return (await this.rows<CodexVersionRow>('SELECT * FROM codex_versions ORDER BY version')).map((row) => ({
      version: row.version,
      hash: row.hash,
      at: row.at,
      ...(row.proposal_id ? { proposalId: row.proposal_id } : {}),
      ...(row.approved_by ? { approvedBy: row.approved_by } : {}),
      ...(row.archived_previous ? { archivedPrevious: row.archived_previous } : {}),
    }));
  }
}
