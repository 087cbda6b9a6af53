import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { SqlSession } from '../db/sqlDatabase.ts';
import { SqlStore } from '../db/sqlStore.ts';
import { CURATION_LEDGER_MIGRATIONS } from './curationLedgerSchema.ts';
import type { Criterion } from './rubric.ts';

/**
 * The curation job's own state (`DATA_DIR/curation.sqlite`, or the `batos_curation` schema with
 * `DATABASE_URL`): the cursor in the interaction log, every verdict, the dialogues and members
 * forgotten since, the samples each member's dialogues added per day (`CURATION_MEMBER_DAILY`),
 * and who is curating now. A verdict is stored as soon as it comes, before any sample is written,
 * so a dialogue is judged once even when a kill lands between its verdict and its samples: the
 * next run finds the verdict and writes them.
 */

/** How a persona's part of a dialogue fared. */
export type VerdictStatus =
  /** The judge answered with a valid verdict. */
  | 'judged'
  /** The judge's answer was not a valid verdict (or the judge kept failing): not golden. */
  | 'invalid'
  /** The log does not hold the persona's turns whole (recorded before system prompts were kept): not judged. */
  | 'incomplete';

export interface StoredVerdict {
  interactionId: string;
  seq: number;
  persona: string;
  status: VerdictStatus;
  /** 0–5; null unless judged. */
  total: number | null;
  scores: Record<Criterion, 0 | 1> | null;
  /** The judge's reason, or what was wrong. */
  reason: string;
  rubricVersion: string;
  judge: string;
  judgeModel: string;
  /** At or above the threshold when judged: its turns became samples. */
  kept: boolean;
  /** Milliseconds since the epoch. */
  judgedAt: number;
}

interface VerdictRow {
  interaction_id: string;
  seq: number;
  persona: string;
  status: VerdictStatus;
  total: number | null;
  scores: string | null;
  reason: string;
  rubric_version: string;
  judge: string;
  judge_model: string;
  kept: number;
  judged_at: number;
}

const fromRow = (row: VerdictRow): StoredVerdict => ({
  interactionId: row.interaction_id,
  seq: row.seq,
  persona: row.persona,
  status: row.status,
  total: row.total,
  scores: row.scores ? (JSON.parse(row.scores) as Record<Criterion, 0 | 1>) : null,
  reason: row.reason,
  rubricVersion: row.rubric_version,
  judge: row.judge,
  judgeModel: row.judge_model,
  kept: row.kept === 1,
  judgedAt: row.judged_at,
});

/** Whether a process on this host is alive (a lease in a SQLite file held by a killed process is free). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a lease in PostgreSQL lasts unless its holder renews it (CurationLease renews it every third of that). */
export const LEASE_TTL_MS = 60_000;

/** The lock two processes taking the lease at once wait on (PostgreSQL; SQLite's write lock does it there). */
const LEASE_LOCK = 'bat-os:curation:lease';

type LeaseAnswer = { ok: true } | { ok: false; pid: number };

export class CurationLedger extends SqlStore {
  /** Opens the ledger where the location says (`curation.sqlite`, or PostgreSQL) and brings its schema up to date. */
  static async open(location: StoreLocation): Promise<CurationLedger> {
    return new CurationLedger(
      await openStoreDatabase(location, {
        file: 'curation.sqlite',
        schema: 'curation',
        migrations: CURATION_LEDGER_MIGRATIONS,
      }),
    );
  }

  /** The `seq` of the last dialogue whose verdicts and samples are all written. */
  async cursor(): Promise<number> {
    return ((await this.row<{ seq: number }>('SELECT seq FROM cursor WHERE id = 1')) as { seq: number }).seq;
  }

  /** Moves the cursor past a dialogue (and clears its failures); never back. */
  async advance(seq: number): Promise<void> {
    await this.run(
      'UPDATE cursor SET seq = CASE WHEN seq > ? THEN seq ELSE ? END, failing_seq = NULL, failures = 0 WHERE id = 1',
      seq,
      seq,
    );
  }

  /** Counts a failed attempt to judge the dialogue at `seq`; returns how many in a row. */
  async noteFailure(seq: number): Promise<number> {
    const row = (await this.row<{ failures: number }>(
      `UPDATE cursor SET failures = CASE WHEN failing_seq = ? THEN failures + 1 ELSE 1 END, failing_seq = ?
         WHERE id = 1 RETURNING failures`,
      seq,
      seq,
    )) as { failures: number };
    return row.failures;
  }

  async verdictsOf(interactionId: string): Promise<StoredVerdict[]> {
    return (
      await this.rows<VerdictRow>('SELECT * FROM verdicts WHERE interaction_id = ?', interactionId)
    ).map(fromRow);
  }

  /** Stores a verdict, unless the dialogue has been forgotten since it was read. */
  putVerdict(verdict: StoredVerdict): Promise<boolean> {
    // In one transaction with the check: a forget in another process lands before or after, whole.
    return this.transaction(async (tx) => {
      if (await isForgottenIn(tx, verdict.interactionId)) return false;
      await tx.run(
        `INSERT INTO verdicts (interaction_id, seq, persona, status, total, scores, reason,
             rubric_version, judge, judge_model, kept, judged_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (interaction_id, persona) DO UPDATE SET seq = excluded.seq, status = excluded.status,
             total = excluded.total, scores = excluded.scores, reason = excluded.reason,
             rubric_version = excluded.rubric_version, judge = excluded.judge,
             judge_model = excluded.judge_model, kept = excluded.kept, judged_at = excluded.judged_at`,
        [
          verdict.interactionId,
          verdict.seq,
          verdict.persona,
          verdict.status,
          verdict.total,
          verdict.scores ? JSON.stringify(verdict.scores) : null,
          verdict.reason,
          verdict.rubricVersion,
          verdict.judge,
          verdict.judgeModel,
          verdict.kept ? 1 : 0,
          verdict.judgedAt,
        ],
      );
      return true;
    }, FORGET_LOCK);
  }

  /** How a persona's verdicts are spread: judged ones by total, and the rest by status. */
  histogram(persona: string): Promise<Array<{ status: VerdictStatus; total: number | null; count: number }>> {
    return this.rows<{ status: VerdictStatus; total: number | null; count: number }>(
      `SELECT status, total, COUNT(*) AS count FROM verdicts WHERE persona = ?
         GROUP BY status, total ORDER BY status, total`,
      persona,
    );
  }

  /**
   * Records that dialogues were forgotten, and drops their verdicts (a reason may quote them). The
   * samples are removed by whoever holds the lease; until then the ids wait here, unapplied.
   */
  forget(interactionIds: readonly string[], at: number): Promise<void> {
    return this.transaction(async (tx) => {
      for (const id of interactionIds) {
        await tx.run(
          `INSERT INTO forgotten (interaction_id, at) VALUES (?, ?)
             ON CONFLICT (interaction_id) DO UPDATE SET applied = 0`,
          [id, at],
        );
        await tx.run('DELETE FROM verdicts WHERE interaction_id = ?', [id]);
      }
    }, FORGET_LOCK);
  }

  isForgotten(interactionId: string): Promise<boolean> {
    return isForgottenIn(this.db, interactionId);
  }

  /** Forgotten dialogues whose samples are still to be removed from the sets. */
  async unappliedForgets(): Promise<string[]> {
    return (
      await this.rows<{ interaction_id: string }>('SELECT interaction_id FROM forgotten WHERE applied = 0')
    ).map((row) => row.interaction_id);
  }

  markForgetsApplied(interactionIds: readonly string[]): Promise<void> {
    return this.transaction(async (tx) => {
      for (const id of interactionIds)
        await tx.run('UPDATE forgotten SET applied = 1 WHERE interaction_id = ?', [id]);
    });
  }

  /** Golden samples a member's dialogues of this UTC day (`2026-11-30`) have added. */
  async memberAdded(userId: string, day: string): Promise<number> {
    return (
      (
        await this.row<{ added: number }>(
          'SELECT added FROM member_days WHERE user_id = ? AND day = ?',
          userId,
          day,
        )
      )?.added ?? 0
    );
  }

  /** Counts samples a member's dialogue of that day added. */
  async countMemberSamples(userId: string, day: string, added: number): Promise<void> {
    if (added <= 0) return;
    await this.run(
      `INSERT INTO member_days (user_id, day, added) VALUES (?, ?, ?)
         ON CONFLICT (user_id, day) DO UPDATE SET added = member_days.added + excluded.added`,
      userId,
      day,
      added,
    );
  }

  /**
   * Records that a member's samples are to leave the golden sets (`/curate forget member:`): the
   * samples of dialogues begun until `at`. Removed by whoever holds the lease.
   */
  async forgetMember(userId: string, at: number): Promise<void> {
    await this.run(
      `INSERT INTO forgotten_members (user_id, at) VALUES (?, ?)
         ON CONFLICT (user_id) DO UPDATE SET at = excluded.at, applied = 0`,
      userId,
      at,
    );
  }

  /** When the member was last forgotten, if ever: their words from before then are not curated. */
  async memberForgottenAt(userId: string): Promise<number | undefined> {
    return (await this.row<{ at: number }>('SELECT at FROM forgotten_members WHERE user_id = ?', userId))?.at;
  }

  /** Forgotten members whose samples are still to be removed from the sets. */
  async unappliedMemberForgets(): Promise<string[]> {
    return (
      await this.rows<{ user_id: string }>('SELECT user_id FROM forgotten_members WHERE applied = 0')
    ).map((row) => row.user_id);
  }

  markMemberForgetsApplied(userIds: readonly string[]): Promise<void> {
    return this.transaction(async (tx) => {
      for (const id of userIds)
        await tx.run('UPDATE forgotten_members SET applied = 1 WHERE user_id = ?', [id]);
    });
  }

  /**
   * Takes the writer's lease for `token` unless another process holds it; returns the holder's
   * pid when it cannot. Who holds it depends on where the ledger is:
   * - in a SQLite file, every process that opens it is on this host: a lease is held while the
   *   process that took it lives (a lease under this process's own pid with another token was
   *   left by an earlier process that had the same pid, as a container restarts as pid 1: stale);
   * - in PostgreSQL, the processes may be on several hosts, where a pid says nothing: a lease is
   *   held until `expires_at`, which its holder moves on while it works ({@link renewLease}), so
   *   a killed holder's lease lapses within {@link LEASE_TTL_MS}.
   */
  acquireLease(token: string, now: number, ttlMs = LEASE_TTL_MS): Promise<LeaseAnswer> {
    return this.transaction(async (tx): Promise<LeaseAnswer> => {
      const held = await tx.get<{ pid: number; token: string; expires_at: number | null }>(
        'SELECT pid, token, expires_at FROM lease WHERE id = 1',
      );
      if (held && held.token !== token && leaseIsLive(tx, held, now)) return { ok: false, pid: held.pid };
      await tx.run(
        `INSERT INTO lease (id, pid, token, since, expires_at) VALUES (1, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, token = excluded.token, since = excluded.since,
             expires_at = excluded.expires_at`,
        [process.pid, token, now, now + ttlMs],
      );
      return { ok: true };
    }, LEASE_LOCK);
  }

  /** Moves the lease's expiry on; false when `token` no longer holds it (it lapsed and another took it). */
  async renewLease(token: string, now: number, ttlMs = LEASE_TTL_MS): Promise<boolean> {
    const { changes } = await this.run(
      'UPDATE lease SET expires_at = ? WHERE id = 1 AND token = ?',
      now + ttlMs,
      token,
    );
    return changes > 0;
  }

  async releaseLease(token: string): Promise<void> {
    await this.run('DELETE FROM lease WHERE id = 1 AND token = ?', token);
  }
}

/**
 * The lock a forget and a verdict's check share (PostgreSQL): a verdict stored by one process
 * after another recorded the dialogue forgotten would quote what was forgotten.
 */
const FORGET_LOCK = 'bat-os:curation:forget';

function isForgottenIn(session: Pick<SqlSession, 'get'>, interactionId: string): Promise<boolean> {
  return session
    .get('SELECT 1 AS found FROM forgotten WHERE interaction_id = ?', [interactionId])
    .then((row) => row !== undefined);
}

/** Whether a lease another token holds still stands (see {@link CurationLedger.acquireLease}). */
function leaseIsLive(
  session: Pick<SqlSession, 'dialect'>,
  held: { pid: number; expires_at: number | null },
  now: number,
): boolean {
  if (session.dialect === 'postgres') return held.expires_at !== null && held.expires_at > now;
  return held.pid !== process.pid && isProcessAlive(held.pid);
}
