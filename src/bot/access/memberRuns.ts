import { TimestampStyles, time } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { SlidingWindow } from '../../services/slidingWindow.ts';

/** A member has used the runs `MEMBER_RUNS_PER_HOUR` allows within the hour. */
export interface MemberLimited {
  ok: false;
  code: 'RATE_LIMITED';
  reason: string;
  /** When the member may run the next one, ms since the epoch. */
  retryAt: number;
}

/**
 * Counts one run of a member's in the window that dialogues (started or continued) and the slash
 * commands that use the models share, or says politely when the next may come. One window for
 * both: a member cannot go past `MEMBER_RUNS_PER_HOUR` by asking through a command instead.
 * `next` ends the reason's last sentence: `start the next one`, `use /memory search again`.
 */
export function admitMember(
  window: SlidingWindow,
  log: Logger,
  userId: string,
  next: string,
): MemberLimited | undefined {
  const verdict = window.take(userId);
  if (verdict.ok) return undefined;
  log.info({ userId, limit: verdict.limit }, 'member rate limit reached');
  return {
    ok: false,
    code: 'RATE_LIMITED',
    retryAt: verdict.retryAt,
    reason: `You have started ${verdict.limit} dialogues or commands that use the models within the hour, the most this server allows (MEMBER_RUNS_PER_HOUR). You can ${next} ${time(Math.ceil(verdict.retryAt / 1000), TimestampStyles.RelativeTime)}.`,
  };
}
