import type { AppStore } from '../../services/appStore.ts';
import type { Clock } from '../../services/clock.ts';
import { utcDay } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import { channelUnusable } from '../../services/errors.ts';
import { placeOf } from '../../services/memory/dialoguePlace.ts';
import type { StoredRecord } from '../../services/memory/interactionLog.ts';
import type { Memory } from '../../services/memory/memory.ts';
import type { JobSpec } from '../../services/scheduler.ts';
import { truncate } from '../../shared/text.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { HumanActivity } from '../activity.ts';
import type { DialogueRunner } from './dialogueRunner.ts';
import type { DialogueStarter } from './startDialogue.ts';

/**
 * The motivator (the seed's autonomous operations): when the bot has been idle, it opens a
 * reflective dialogue of its own in `AUTONOMY_CHANNEL_ID`, revisiting the most dissonant recent
 * dialogue; at most `AUTONOMY_MAX_PER_DAY` a day (UTC). An autonomous job: it does not start
 * while a codex proposal is drafted or pending.
 */

const LOOKBACK_MS = 7 * 24 * 60 * 60 * 1000;

/** The reflection the personas are given: the dialogue where they stayed furthest apart. */
export function reflectionTask(record: StoredRecord): string {
  return [
    `Reflection: on ${utcDay(record.finishedAt)} we stayed far apart ` +
      `(final dissonance ${record.finalDissonance?.toFixed(2)}) on this request:`,
    `"${truncate(record.task, 600)}"`,
    `ALFRED concluded: "${truncate(record.answer, 600)}"`,
    'What did we miss, and which of our principles made agreement hard? Propose how we would answer it now.',
  ].join('\n');
}

/** What the motivator reads and uses, and nothing more. */
export interface MotivatorPorts {
  readonly config: Pick<Config, 'autonomyIdleMinutes' | 'autonomyMaxPerDay'>;
  readonly clock: Clock;
  readonly store: Pick<AppStore, 'get' | 'set'>;
  readonly memory: Pick<Memory, 'between'>;
  readonly runner: Pick<DialogueRunner, 'activeThreads'>;
  readonly activity: Pick<HumanActivity, 'last'>;
  readonly dialogues: Pick<DialogueStarter, 'start'>;
  readonly access: Pick<ChannelAccess, 'sharedWith'>;
}

export function createMotivatorJob(ports: MotivatorPorts, cron: string, channelId: string): JobSpec {
  const { config, memory, clock } = ports;
  return {
    name: 'motivator',
    cron,
    setting: 'AUTONOMY_CRON',
    autonomous: true,
    async run() {
      // One reading of the clock: the idle check, the day's count and the window agree.
      const now = clock.now();
      const idleFor = now - ports.activity.last();
      if (idleFor < config.autonomyIdleMinutes * 60_000) {
        return `not idle: the last human activity was ${Math.round(idleFor / 60_000)} min ago`;
      }
      if (ports.runner.activeThreads.size > 0) return 'not idle: dialogues are running';
      const dayKey = `motivator:day:${utcDay(now)}`;
      const today = Number((await ports.store.get(dayKey)) ?? 0);
      if (today >= config.autonomyMaxPerDay) return `daily limit reached (${config.autonomyMaxPerDay})`;
      // The reflection is read by everyone in its channel: only dialogues they could all read.
      const readable = ports.access.sharedWith(channelId);
      const candidate = (await memory.between(now - LOOKBACK_MS, now + 1))
        .filter((r) => {
          // Where it may be read: a private thread only by its members, so never here.
          const place = placeOf(r);
          return (
            r.finalDissonance !== null &&
            place !== channelId &&
            place !== undefined &&
            readable.includes(place)
          );
        })
        .sort((a, b) => (b.finalDissonance ?? 0) - (a.finalDissonance ?? 0))[0];
      if (!candidate) return 'nothing to reflect on: no dialogues in the last 7 days';
      await ports.store.set(dayKey, today + 1);
      const started = await ports.dialogues.start({
        origin: {
          channelId,
          opener: `🌙 While it is quiet, the personas revisit a dialogue where they disagreed (dissonance ${candidate.finalDissonance?.toFixed(2)}).`,
        },
        name: `Reflection: ${candidate.task.split('\n')[0] ?? 'a dissonant dialogue'}`,
        task: reflectionTask(candidate),
      });
      if (!started.ok) {
        await ports.store.set(dayKey, today);
        if (started.code === 'CHANNEL_UNUSABLE')
          throw channelUnusable('AUTONOMY_CHANNEL_ID', channelId, started.reason);
        throw new Error(`could not open the reflection's thread: ${started.reason}`);
      }
      await started.run;
      return `reflected on ${candidate.id} in ${started.thread.id} (${today + 1}/${config.autonomyMaxPerDay} today)`;
    },
  };
}
