import { randomUUID } from 'node:crypto';
import { type Leadership, soleLeadership } from './leadership.ts';

/**
 * Which process does a piece of work that outlives a call (a fine-tune running, a codex proposal
 * being drafted, an approval between its intent and its completion), and whether that process
 * still lives. A process that starts repairs what a dead one left half done, but must leave alone
 * what a live one is still doing. So each process names itself (a random id at start), writes
 * that name into the records of the work it begins, and holds a lock on the name for as long as
 * it lives: with PostgreSQL a session lock that dies with the process's connection
 * (`leadership.ts`). A record's process is alive while its lock cannot be taken. With one process
 * (SQLite) every lock is this process's own, so every record not begun by this very process was
 * left by one that died: what a start found before there were several processes.
 *
 * One per process, shared by everything that records owners (`compose.ts` builds it).
 */
export interface ProcessOwner {
  /** This process's name, written into the records of the work it begins. */
  readonly self: string;
  /** Holds this process's lock (taken once, kept until it closes); false when the database could not give it. */
  claim(): Promise<boolean>;
  /**
   * Whether the process named `owner` still runs (a record without one is older than owners,
   * and its process gone). False only when it is sure: a database it cannot reach says alive.
   */
  alive(owner: string | undefined): Promise<boolean>;
  close(): Promise<void>;
}

const lockOf = (owner: string) => `process-owner:${owner}`;

export function processOwner(
  leadership: Leadership = soleLeadership,
  self: string = randomUUID(),
): ProcessOwner {
  return {
    self,
    claim: () => leadership.leads(lockOf(self)),
    async alive(owner) {
      if (owner === self) return true;
      if (owner === undefined) return false;
      // Taking a dead process's lock keeps it here until this process ends: a name never reused.
      return !(await leadership.leads(lockOf(owner)));
    },
    close: () => leadership.close(),
  };
}
