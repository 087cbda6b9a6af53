import { SqliteStore } from '../sqliteStore.ts';
import type { Criterion } from './rubric.ts';

/**
 * The curation job's own state (`DATA_DIR/curation.sqlite`): the cursor in the interaction log,
 * every verdict, the dialogues and members forgotten since, the samples each member's dialogues
 * added per day (`CURATION_MEMBER_DAILY`), and who is curating now. A verdict is stored as
 * soon as it comes, before any sample is written, so a dialogue is judged once even when a kill
 * lands between its verdict and its samples: the next run finds the verdict and writes them.
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

/** Whether a process is alive (a lease held by a killed process is free). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    failing_seq INTEGER,
    failures INTEGER NOT NULL DEFAULT 0
  );
  INSERT OR IGNORE INTO cursor (id, seq) VALUES (1, 0);
  CREATE TABLE IF NOT EXISTS verdicts (
    interaction_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    persona TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER,
    scores TEXT,
    reason TEXT NOT NULL,
    rubric_version TEXT NOT NULL,
    judge TEXT NOT NULL,
    judge_model TEXT NOT NULL,
    kept INTEGER NOT NULL,
    judged_at INTEGER NOT NULL,
    PRIMARY KEY (interaction_id, persona)
  );
  CREATE INDEX IF NOT EXISTS verdicts_persona ON verdicts (persona, status, total);
  CREATE TABLE IF NOT EXISTS forgotten (
    interaction_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS member_days (
    user_id TEXT NOT NULL,
    day TEXT NOT NULL,
    added INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
  );
  CREATE TABLE IF NOT EXISTS forgotten_members (
    user_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE IF NOT EXISTS lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    since INTEGER NOT NULL
  );
`;

export class CurationLedger extends SqliteStore {
  constructor(dataDir: string) {
    super(dataDir, 'curation.sqlite', SCHEMA);
  }

  /** The `seq` of the last dialogue whose verdicts and samples are all written. */
  cursor(): number {
    return (this.row<{ seq: number }>('SELECT seq FROM cursor WHERE id = 1') as { seq: number }).seq;
  }

  /** Moves the cursor past a dialogue (and clears its failures). */
  advance(seq: number): void {
    this.run('UPDATE cursor SET seq = MAX(seq, ?), failing_seq = NULL, failures = 0 WHERE id = 1', seq);
  }

  /** Counts a failed attempt to judge the dialogue at `seq`; returns how many in a row. */
  noteFailure(seq: number): number {
    const row = this.row<{ failures: number }>(
      `UPDATE cursor SET failures = CASE WHEN failing_seq = @seq THEN failures + 1 ELSE 1 END, failing_seq = @seq
         WHERE id = 1 RETURNING failures`,
      { seq },
    ) as { failures: number };
    return row.failures;
  }

  verdictsOf(interactionId: string): StoredVerdict[] {
    return this.rows<VerdictRow>('SELECT * FROM verdicts WHERE interaction_id = ?', interactionId).map(
      fromRow,
    );
  }

  /** Stores a verdict, unless the dialogue has been forgotten since it was read. */
  putVerdict(verdict: StoredVerdict): boolean {
    return this.transaction(() => {
      if (this.isForgotten(verdict.interactionId)) return false;
      this.run(
        `INSERT OR REPLACE INTO verdicts (interaction_id, seq, persona, status, total, scores, reason,
             rubric_version, judge, judge_model, kept, judged_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
      );
      return true;
    });
  }

  /** How a persona's verdicts are spread: judged ones by total, and the rest by status. */
  histogram(persona: string): Array<{ status: VerdictStatus; total: number | null; count: number }> {
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
  forget(interactionIds: readonly string[], at: number): void {
    this.transaction(() => {
      for (const id of interactionIds) {
        this.run(
          'INSERT INTO forgotten (interaction_id, at) VALUES (?, ?) ON CONFLICT DO UPDATE SET applied = 0',
          id,
          at,
        );
        this.run('DELETE FROM verdicts WHERE interaction_id = ?', id);
      }
    });
  }

  isForgotten(interactionId: string): boolean {
    return this.row('SELECT 1 FROM forgotten WHERE interaction_id = ?', interactionId) !== undefined;
  }

  /** Forgotten dialogues whose samples are still to be removed from the files. */
  unappliedForgets(): string[] {
    return this.rows<{ interaction_id: string }>(
      'SELECT interaction_id FROM forgotten WHERE applied = 0',
    ).map((row) => row.interaction_id);
  }

  markForgetsApplied(interactionIds: readonly string[]): void {
    this.transaction(() => {
      for (const id of interactionIds)
        this.run('UPDATE forgotten SET applied = 1 WHERE interaction_id = ?', id);
    });
  }

  /** Golden samples a member's dialogues of this UTC day (`2026-11-30`) have added. */
  memberAdded(userId: string, day: string): number {
    return (
      this.row<{ added: number }>('SELECT added FROM member_days WHERE user_id = ? AND day = ?', userId, day)
        ?.added ?? 0
    );
  }

  /** Counts samples a member's dialogue of that day added. */
  countMemberSamples(userId: string, day: string, added: number): void {
    if (added <= 0) return;
    this.run(
      `INSERT INTO member_days (user_id, day, added) VALUES (?, ?, ?)
         ON CONFLICT DO UPDATE SET added = added + excluded.added`,
      userId,
      day,
      added,
    );
  }

  /**
   * Records that a member's samples are to leave the golden sets (`/curate forget member:`): the
   * samples of dialogues begun until `at`. Removed by whoever holds the lease.
   */
  forgetMember(userId: string, at: number): void {
    this.run(
      `INSERT INTO forgotten_members (user_id, at) VALUES (?, ?)
         ON CONFLICT DO UPDATE SET at = excluded.at, applied = 0`,
      userId,
      at,
    );
  }

  /** When the member was last forgotten, if ever: their words from before then are not curated. */
  memberForgottenAt(userId: string): number | undefined {
    return this.row<{ at: number }>('SELECT at FROM forgotten_members WHERE user_id = ?', userId)?.at;
  }

  /** Forgotten members whose samples are still to be removed from the files. */
  unappliedMemberForgets(): string[] {
    return this.rows<{ user_id: string }>('SELECT user_id FROM forgotten_members WHERE applied = 0').map(
      (row) => row.user_id,
    );
  }

  markMemberForgetsApplied(userIds: readonly string[]): void {
    this.transaction(() => {
      for (const id of userIds) this.run('UPDATE forgotten_members SET applied = 1 WHERE user_id = ?', id);
    });
  }

  /**
   * Takes the writer's lease for `token` unless another live process holds it. A lease under this
   * process's own pid with another token was left by an earlier process that had the same pid (a
   * container restarts as pid 1): stale. Returns the holder's pid when it cannot.
   */
  acquireLease(token: string, now: number): { ok: true } | { ok: false; pid: number } {
    return this.transaction((): { ok: true } | { ok: false; pid: number } => {
      const held = this.row<{ pid: number; token: string }>('SELECT pid, token FROM lease WHERE id = 1');
      if (held && held.token !== token && held.pid !== process.pid && isProcessAlive(held.pid)) {
        return { ok: false, pid: held.pid };
      }
      this.run(
        'INSERT OR REPLACE INTO lease (id, pid, token, since) VALUES (1, ?, ?, ?)',
        process.pid,
        token,
        now,
      );
      return { ok: true };
    }, 'immediate');
  }

  releaseLease(token: string): void {
    this.run('DELETE FROM lease WHERE id = 1 AND token = ?', token);
  }
}
