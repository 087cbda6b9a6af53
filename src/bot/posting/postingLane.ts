import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import { LaneBudgets, type PostingLimits } from './budgets.ts';
import type { PostingPort, PostRequest, SendReport } from './postingPort.ts';
import { type ThreadQueue, ThreadTurns } from './threadTurns.ts';

/** What a lane needs: Discord, the time, a log, and the limits it paces for. */
export interface LaneDeps<Part> {
  port: PostingPort<Part>;
  clock: Clock;
  logger: Logger;
  limits: PostingLimits;
}

/**
 * One parent channel: its webhook, its budgets, and its threads waiting their turn. One message
 * is in flight at a time (discord.js serves a webhook's requests one by one anyway, and a
 * thread's order must hold), sent only when both budgets allow it.
 */
export class PostingLane<Part> {
  private readonly budgets: LaneBudgets;
  private readonly turns = new ThreadTurns<Part>();
  private draining = false;

  constructor(
    private readonly channelId: string,
    private readonly deps: LaneDeps<Part>,
  ) {
    this.budgets = new LaneBudgets(deps.limits);
  }

  /** Queues a post; resolves once every part is delivered, rejects with the port's error. */
  post(request: PostRequest<Part>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.turns.add({ request, next: 0, told: false, resolve, reject });
      if (this.draining) this.tellDelayed(this.deps.clock.now());
      else this.drain().catch((error: unknown) => this.failAll(error));
    });
  }

  private async drain(): Promise<void> {
    const { clock } = this.deps;
    this.draining = true;
    try {
      for (;;) {
        if (this.turns.empty) return;
        const now = clock.now();
        // In line order; an edit may pass new messages that wait for the channel's window.
        const line = this.turns.line();
        const times = line.map((queue) => this.budgets.readyAt(now, !queue.posts[0]?.request.edit));
        const index = times.findIndex((at) => at <= now);
        const queue = line[index];
        if (!queue) {
          this.tellDelayed(now);
          await clock.sleep(Math.min(...times) - now);
          continue;
        }
        this.turns.take(index);
        await this.sendNext(queue);
      }
    } finally {
      this.draining = false;
    }
  }

  private async sendNext(queue: ThreadQueue<Part>): Promise<void> {
    const { clock, port, logger } = this.deps;
    const pending = queue.posts[0];
    const part = pending?.request.parts[pending.next];
    if (!pending || part === undefined) {
      this.turns.forget(queue);
      return;
    }
    const creates = !pending.request.edit;
    this.budgets.take(clock.now(), creates);
    let report: SendReport | undefined;
    let failure: unknown;
    try {
      report = await port.send({ channelId: this.channelId, threadId: queue.threadId }, part);
    } catch (error) {
      failure = error;
    }
    const now = clock.now();
    this.budgets.settle(now, creates, report?.bucket);
    for (const limited of report?.rateLimited ?? []) {
      logger.warn(
        { channelId: this.channelId, threadId: queue.threadId, ...limited, delivered: report?.delivered },
        'Discord answered 429 despite the pacing',
      );
    }
    if (!report) {
      queue.posts.shift();
      pending.reject(failure);
    } else if (!report.delivered) {
      const retryAfterMs = Math.max(0, ...report.rateLimited.map((limited) => limited.retryAfterMs));
      this.budgets.pause(now, retryAfterMs);
      this.turns.retry(queue);
      return;
    } else {
      pending.next += 1;
      if (pending.next >= pending.request.parts.length) {
        queue.posts.shift();
        pending.resolve();
      }
    }
    this.turns.rotate(queue);
  }

  /**
   * Tells each thread whose next post must wait too long, once per post, and only before its
   * first part: a notice between the parts of a turn would split it.
   */
  private tellDelayed(now: number): void {
    const { logger, limits } = this.deps;
    const line = this.turns.line();
    const untold = (queue: ThreadQueue<Part>) => {
      const head = queue.posts[0];
      return head && !head.told && head.next === 0 && head.request.onDelayed ? head : undefined;
    };
    if (!line.some(untold)) return;
    const times = this.budgets.estimate(now, line.length);
    line.forEach((queue, index) => {
      const head = untold(queue);
      const waitMs = (times[index] ?? now) - now;
      if (!head || waitMs <= limits.noticeAfterMs) return;
      head.told = true;
      logger.debug(
        { channelId: this.channelId, threadId: queue.threadId, waitMs },
        'posting delayed by limits',
      );
      try {
        head.request.onDelayed?.(waitMs);
      } catch (error) {
        logger.error({ err: error, threadId: queue.threadId }, 'delay notice failed');
      }
    });
  }

  /** A bug in the loop must not leave posts hanging: they fail, and the lane starts afresh. */
  private failAll(error: unknown): void {
    this.deps.logger.error({ err: error, channelId: this.channelId }, 'posting lane failed');
    for (const pending of this.turns.drop()) pending.reject(error);
  }
}
