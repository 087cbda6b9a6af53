import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import { DEFAULT_POSTING_LIMITS, type PostingLimits } from './budgets.ts';
import { type LaneDeps, PostingLane } from './postingLane.ts';
import type { PostingPort, PostRequest } from './postingPort.ts';

export { DEFAULT_POSTING_LIMITS, type PostingLimits } from './budgets.ts';
export type { PostingPort, PostRequest, PostTarget, RateLimitedAnswer, SendReport } from './postingPort.ts';

export interface PostingScheduler<Part> {
  /**
   * Queues a post. Resolves once every part is delivered; rejects with the port's error, and
   * the parts not yet sent are dropped (the thread's later posts go on).
   */
  post(request: PostRequest<Part>): Promise<void>;
}

/**
 * Posts webhook messages for many threads without a 429 and without one thread starving the
 * others. Each parent channel is a lane ({@link PostingLane}): one message in flight at a time
 * (discord.js serves a webhook's requests one by one anyway, and a thread's order must hold),
 * sent only when both budgets allow it — the webhook's bucket, followed from Discord's headers,
 * and the channel's 30-a-minute limit, which Discord never shows before a 429 and which we count
 * ourselves. Threads take turns message by message, so none waits for another's whole dialogue.
 *
 * One webhook per channel, not several: the channel limit is shared by all its webhooks. On the
 * emulator's model of Discord (5 per 2 s per webhook, 30 per minute per channel), 80 messages
 * took 126 s through one webhook, 122 s through two and 122 s through three; a second webhook
 * only brings a burst's first 30 messages forward (the 20th at 2 s instead of 6 s), and the
 * next ones then wait as long. Not worth a second webhook against Discord's 15 per channel,
 * nor a second one to create, persist and recreate.
 */
export function createPostingScheduler<Part>(deps: {
  port: PostingPort<Part>;
  clock: Clock;
  logger: Logger;
  limits?: Partial<PostingLimits>;
}): PostingScheduler<Part> {
  const laneDeps: LaneDeps<Part> = {
    port: deps.port,
    clock: deps.clock,
    logger: deps.logger.child({ module: 'posting' }),
    limits: { ...DEFAULT_POSTING_LIMITS, ...deps.limits },
  };
  const lanes = new Map<string, PostingLane<Part>>();
  return {
    post(request) {
      if (request.parts.length === 0) return Promise.resolve();
      let lane = lanes.get(request.channelId);
      if (!lane) {
        // Lanes stay: their windows must outlive a quiet moment, and a bot has few channels.
        lane = new PostingLane(request.channelId, laneDeps);
        lanes.set(request.channelId, lane);
      }
      return lane.post(request);
    },
  };
}
