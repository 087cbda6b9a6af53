import type { Clock } from '../clock.ts';
import type { ActiveModel } from './finetuneRecords.ts';

/**
 * How old this process's view of the models in force may grow before a read refreshes it: 5
 * seconds. A swap or a rollback written by another process (the leader's nightly fine-tune, a
 * `/finetune rollback` handled by another shard) reaches this one's next model calls within
 * about this long; this process's own swaps reach them at once.
 */
export const ACTIVE_REFRESH_MS = 5_000;

/**
 * The model in force per persona as this process last read it from the fine-tune store. Each
 * model call asks which model a persona speaks through, so the answer comes from memory, never
 * from a query: loaded when the store opens, changed at once by this process's own swaps, and
 * read again from the database in the background by the first read after it is
 * {@link ACTIVE_REFRESH_MS} old (that read, and the calls during the refresh, get the view as
 * it was). A process idle for longer than the interval therefore serves its first call after
 * the idle spell from the older view, and the next ones from the fresh one.
 */
export class ActiveModels {
  private models = new Map<string, ActiveModel>();
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  /**
   * Counts this process's own swaps: a read that began before one may bring back the row it
   * replaced, and is then dropped (the next read fetches it again).
   */
  private written = 0;
  private closed = false;

  constructor(
    private readonly deps: {
      /** Every persona's pointer, from the database. */
      load: () => Promise<ActiveModel[]>;
      clock: Clock;
      /** Told when a background refresh fails (the view stays as it was, and is tried again later). */
      onError?: (error: unknown) => void;
      refreshMs?: number;
    },
  ) {}

  /** The version in force for a persona as last seen; none: the codex's own model. Never waits. */
  get(persona: string): ActiveModel | undefined {
    const age = this.deps.clock.now() - this.readAt;
    if (!this.closed && !this.reading && age >= (this.deps.refreshMs ?? ACTIVE_REFRESH_MS)) {
      this.refresh().catch((error: unknown) => this.deps.onError?.(error));
    }
    return this.models.get(persona);
  }

  /** This process's own swap: in force for its next model call. */
  set(active: ActiveModel): void {
    this.written++;
    this.models.set(active.persona, active);
  }

  /** Reads every pointer from the database now (one read at a time; a second caller shares it). */
  refresh(): Promise<void> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Stops refreshing, once the read in flight, if any, has ended. */
  async close(): Promise<void> {
    this.closed = true;
    await this.reading?.catch(() => undefined);
  }

  private async read(): Promise<void> {
    const written = this.written;
    const startedAt = this.deps.clock.now();
    let rows: ActiveModel[];
    try {
      rows = await this.deps.load();
    } catch (error) {
      // Tried again after the interval, not at every call while the database is away.
      this.readAt = startedAt;
      throw error;
    }
    if (written !== this.written) return;
    this.models = new Map(rows.map((row) => [row.persona, row]));
    this.readAt = startedAt;
  }
}
