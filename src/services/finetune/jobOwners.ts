import { randomUUID } from 'node:crypto';
import { type Leadership, soleLeadership } from '../db/leadership.ts';

/**
 * Which process runs a fine-tune, and whether that process still lives. A job in the running
 * state holds the GPU for every process; when the process running it dies, the job must end as
 * failed (at the next start, or when a job is next asked for), but a job another live process
 * runs must not. So each process names itself (a random id at start), writes that name into the
 * jobs it begins, and holds a lock on the name for as long as it lives: with PostgreSQL a session
 * lock that dies with the process's connection (`leadership.ts`). A job's process is alive while
 * its lock cannot be taken. With one process (SQLite) every lock is this process's own, so every
 * running job not begun by this very process was left by one that died: what a start found
 * before there were several processes.
 */
export interface JobOwners {
  /** This process's name, written into the jobs it begins. */
  readonly self: string;
  /** Holds this process's lock (taken once, kept until it closes); false when the database could not give it. */
  claim(): Promise<boolean>;
  /**
   * Whether the process named `owner` still runs (a job without one is older than this record,
   * and its process gone). False only when it is sure: a database it cannot reach says alive.
   */
  alive(owner: string | undefined): Promise<boolean>;
  close(): Promise<void>;
}

const lockOf = (owner: string) => `finetune-owner:${owner}`;

export function jobOwners(leadership: Leadership = soleLeadership, self: string = randomUUID()): JobOwners {
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
