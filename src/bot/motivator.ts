import { ThreadAutoArchiveDuration } from 'discord.js';
import type { StoredRecord } from '../services/memory/interactionLog.ts';
import type { JobSpec } from '../services/scheduler.ts';
import { truncate } from '../services/text.ts';
import type { BotContext } from './botContext.ts';
import { NO_MENTIONS } from './personaPoster.ts';

/**
 * The motivator (the seed's autonomous operations): when the bot has been idle, it opens a
 * reflective dialogue of its own in `AUTONOMY_CHANNEL_ID`, revisiting the most dissonant recent
 * dialogue; at most `AUTONOMY_MAX_PER_DAY` a day. An autonomous job: it does not start while a
 * codex proposal is drafted or pending.
 */

const LOOKBACK_MS = 7 * 24 * 60 * 60 * 1000;

/** The reflection the personas are given: the dialogue where they stayed furthest apart. */
export function reflectionTask(record: StoredRecord): string {
  return [
    `Reflection: on ${new Date(record.finishedAt).toISOString().slice(0, 10)} we stayed far apart ` +
      `(final dissonance ${record.finalDissonance?.toFixed(2)}) on this request:`,
    `"${truncate(record.task, 600)}"`,
    `ALFRED concluded: "${truncate(record.answer, 600)}"`,
    'What did we miss, and which of our principles made agreement hard? Propose how we would answer it now.',
  ].join('\n');
}

export function createMotivatorJob(ctx: BotContext, cron: string, channelId: string): JobSpec {
  const { config, memory } = ctx.runtime;
  const dayKey = (ms: number) => `motivator:day:${new Date(ms).toISOString().slice(0, 10)}`;
  return {
    name: 'motivator',
    cron,
    setting: 'AUTONOMY_CRON',
    autonomous: true,
    async run() {
      const now = Date.now();
      const idleFor = now - ctx.lastHumanActivity();
      if (idleFor < config.autonomyIdleMinutes * 60_000) {
        return `not idle: the last human activity was ${Math.round(idleFor / 60_000)} min ago`;
      }
      if (ctx.runner.activeThreads.size > 0) return 'not idle: dialogues are running';
      const today = Number((await ctx.store.get(dayKey(now))) ?? 0);
      if (today >= config.autonomyMaxPerDay) return `daily limit reached (${config.autonomyMaxPerDay})`;
      const candidate = memory
        .between(now - LOOKBACK_MS, now + 1)
        .filter((r) => r.finalDissonance !== null && r.channelId !== channelId)
        .sort((a, b) => (b.finalDissonance ?? 0) - (a.finalDissonance ?? 0))[0];
      if (!candidate) return 'nothing to reflect on: no dialogues in the last 7 days';
      const channel = await ctx.client.channels.fetch(channelId);
      if (!channel?.isTextBased() || !('threads' in channel)) {
        throw new Error(`AUTONOMY_CHANNEL_ID ${channelId} is not a text channel the bot can open threads in`);
      }
      await ctx.store.set(dayKey(now), today + 1);
      const task = reflectionTask(candidate);
      const opener = await channel.send({
        content: `🌙 While it is quiet, the personas revisit a dialogue where they disagreed (dissonance ${candidate.finalDissonance?.toFixed(2)}).`,
        allowedMentions: NO_MENTIONS,
      });
      const thread = await opener.startThread({
        name: truncate(`Reflection: ${candidate.task.split('\n')[0] ?? 'a dissonant dialogue'}`, 100),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
      });
      await ctx.registerThread(thread.id, { channelId, userId: ctx.client.user?.id ?? 'motivator' });
      await ctx.runner.run(thread, task, { userId: ctx.client.user?.id ?? 'motivator' });
      return `reflected on ${candidate.id} in ${thread.id} (${today + 1}/${config.autonomyMaxPerDay} today)`;
    },
  };
}
