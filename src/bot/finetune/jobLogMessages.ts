import { AttachmentBuilder, type Client, type Message } from 'discord.js';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { FinetuneJob } from '../../services/finetune/finetuneStore.ts';
import type { Logger } from '../../services/logger.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import { sendableChannel } from '../posting/channels.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { jobEmbed } from './jobEmbed.ts';
import { lossChartPng } from './lossChart.ts';

/** The least time between two edits of a job's message. */
export const EDIT_EVERY_MS = 5_000;

/** The channel `id` names, if it is set, can be fetched, and takes messages. */

/** A job's message: its embed, and once the job is done, its loss curve. */
export async function jobMessage(job: FinetuneJob) {
  const final = job.stage === 'done';
  const chart = final
    ? await lossChartPng(job.losses, `${job.persona} · ${job.id} · training loss`).catch(() => undefined)
    : undefined;
  const embed = jobEmbed(job);
  if (chart) embed.setImage(`attachment://loss-${job.id}.png`);
  return {
    embeds: [embed],
    ...(chart ? { files: [new AttachmentBuilder(chart, { name: `loss-${job.id}.png` })] } : {}),
    allowedMentions: NO_MENTIONS,
  };
}

export interface JobLogDeps {
  client: Client;
  config: Pick<Config, 'logChannelId'>;
  clock: Clock;
  log: Logger;
  /** Called after the job's message shows it awaiting the architect. */
  onAwaiting: (job: FinetuneJob) => Promise<void>;
}

/**
 * One message per job in `LOG_CHANNEL_ID`, posted at its first change and edited as it goes: at
 * most every {@link EDIT_EVERY_MS}, the last state always shown, the final one at once.
 */
export class JobLogMessages {
  private readonly messages = new Map<string, Message>();
  private readonly inOrder = createKeyedLock();
  private readonly lastEdit = new Map<string, number>();
  /** The latest state of a job whose edit waits for its turn. */
  private readonly pending = new Map<string, FinetuneJob>();
  /** The state each job's message last showed: the decision card goes once, as a job comes to await it. */
  private readonly shown = new Map<string, FinetuneJob['state']>();

  constructor(private readonly deps: JobLogDeps) {}

  /** Shows a job's new state now, or at its next turn. */
  follow(job: FinetuneJob): void {
    const since = this.deps.clock.now() - (this.lastEdit.get(job.id) ?? Number.NEGATIVE_INFINITY);
    if (job.stage === 'done' || since >= EDIT_EVERY_MS) {
      this.showLogged(job);
      return;
    }
    const waiting = this.pending.has(job.id);
    this.pending.set(job.id, job);
    if (waiting) return;
    void this.deps.clock.sleep(EDIT_EVERY_MS - since).then(() => {
      const latest = this.pending.get(job.id);
      if (latest) this.showLogged(latest);
    });
  }

  private showLogged(job: FinetuneJob): void {
    void this.show(job).catch((error: unknown) =>
      this.deps.log.warn({ err: error, job: job.id }, 'could not show a fine-tune'),
    );
  }

  /** Posts or edits the job's message now; one at a time per job, in order. */
  private show(job: FinetuneJob): Promise<void> {
    return this.inOrder.run(job.id, async () => {
      this.lastEdit.set(job.id, this.deps.clock.now());
      this.pending.delete(job.id);
      const payload = await jobMessage(job);
      const message = this.messages.get(job.id);
      if (message) await message.edit(payload);
      else {
        const posted = await (await sendableChannel(this.deps.client, this.deps.config.logChannelId))?.send(
          payload,
        );
        if (posted) this.messages.set(job.id, posted);
      }
      const was = this.shown.get(job.id);
      this.shown.set(job.id, job.state);
      // A later change of a waiting job (a forget marking it tainted) edits its message, not a second card.
      if (job.state === 'awaiting_architect' && was !== 'awaiting_architect') await this.deps.onAwaiting(job);
    });
  }
}
