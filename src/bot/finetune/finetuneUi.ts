import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type Client,
  EmbedBuilder,
  type Message,
  MessageFlags,
  userMention,
} from 'discord.js';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { FineTuner } from '../../services/finetune/fineTuner.ts';
import type { EvaluationReport, FinetuneJob } from '../../services/finetune/finetuneStore.ts';
import type { Logger } from '../../services/logger.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import type { ArchitectGate } from '../access/architects.ts';
import type { ButtonFamily } from '../interactions/buttons.ts';
import { NO_MENTIONS } from '../posting/personaPoster.ts';
import { lossChartPng } from './lossChart.ts';

/**
 * Fine-tunes in Discord: one message per job in `LOG_CHANNEL_ID`, edited as the job goes (at
 * most every few seconds), finished with the loss curve and the evaluation; with
 * `FINETUNE_PROMOTION=architect`, a card with Promote and Discard in the governance channel.
 */
export interface FinetuneUi {
  /** The `finetune:` buttons (Promote, Discard). */
  readonly buttons: ButtonFamily;
  /** Follows the jobs; returns a function that stops it. */
  listen(): () => void;
  /** The job as an embed (also for `/forge status`). */
  embed(job: FinetuneJob): EmbedBuilder;
}

/** The least time between two edits of a job's message. */
export const EDIT_EVERY_MS = 5_000;
export const FINETUNE_BUTTONS = 'finetune';

const STATE_LINE: Record<FinetuneJob['state'], string> = {
  running: '⏳ Running',
  awaiting_architect: '🧑‍⚖️ Better than the model in force: waiting for the architect',
  promoted: '✅ Swapped in: later turns use the new version',
  kept: '↩️ Not better: the model in force stays',
  discarded: '🗑️ Discarded by the architect',
  failed: '❌ Failed: nothing was swapped',
};
const COLORS: Record<FinetuneJob['state'], number> = {
  running: 0x5865f2,
  awaiting_architect: 0xf1c40f,
  promoted: 0x2ecc71,
  kept: 0x95a5a6,
  discarded: 0x95a5a6,
  failed: 0xe74c3c,
};

export function evaluationTable(evaluation: EvaluationReport): string {
  return [
    '```',
    `prompts  won  tied  lost  score  lower95`,
    `${String(evaluation.prompts).padStart(7)}  ${String(evaluation.wins).padStart(3)}  ${String(evaluation.ties).padStart(4)}  ${String(evaluation.losses).padStart(4)}  ${(evaluation.score * 100).toFixed(0).padStart(4)}%  ${evaluation.lowerBound.toFixed(2).padStart(7)}`,
    `format kept: candidate ${evaluation.formatCandidate}/${evaluation.prompts}, in force ${evaluation.formatIncumbent}/${evaluation.prompts}`,
    '```',
    evaluation.verdict,
  ].join('\n');
}

export function jobEmbed(job: FinetuneJob): EmbedBuilder {
  const embed = new EmbedBuilder()
    .setColor(COLORS[job.state])
    .setTitle(`🧠 Fine-tune ${job.id}: ${job.persona}`)
    .setDescription(`${STATE_LINE[job.state]}${job.error ? `\n${job.error}` : ''}`.slice(0, 4096))
    .addFields(
      { name: 'Base', value: `\`${job.base}\` → Ollama \`${job.fromModel}\``.slice(0, 1024), inline: false },
      {
        name: 'Dataset',
        value:
          job.samples === undefined
            ? 'being frozen…'
            : `${job.samples} trained on (${job.anchor ?? 0} anchor) · ${job.holdout ?? 0} held out · \`${job.datasetHash?.slice(0, 12)}\``,
      },
    );
  if (job.totalSteps !== undefined || job.step !== undefined) {
    const loss = job.losses.at(-1)?.[1] ?? job.finalLoss;
    embed.addFields({
      name: 'Training',
      value: `step ${job.step ?? 0}/${job.totalSteps ?? '?'}${loss !== undefined ? ` · loss ${loss.toFixed(3)}` : ''}`,
      inline: true,
    });
  }
  if (job.candidate)
    embed.addFields({
      name: 'Candidate',
      value: `\`${job.candidate}\` (version ${job.version})`,
      inline: true,
    });
  if (job.evaluation)
    embed.addFields({
      name: 'Evaluation (pairwise, both orders)',
      value: evaluationTable(job.evaluation).slice(0, 1024),
    });
  if (job.logTail)
    embed.addFields({
      name: 'The trainer’s last words',
      value: `\`\`\`\n${job.logTail.slice(-900)}\n\`\`\``,
    });
  if (job.decidedBy && job.decidedBy !== 'system')
    embed.addFields({ name: 'Decided by', value: userMention(job.decidedBy), inline: true });
  return embed.setFooter({
    text: `asked by ${job.requestedBy === 'system' ? 'the schedule' : 'an architect'} · stage ${job.stage}`,
  });
}

export function createFinetuneUi(ports: {
  client: Client;
  config: Pick<Config, 'logChannelId' | 'governanceChannelId'>;
  fineTuner: Pick<FineTuner, 'promote' | 'discard' | 'get'>;
  architects: Pick<ArchitectGate, 'check'>;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
}): FinetuneUi {
  const log = ports.logger.child({ module: 'finetune-ui' });
  const messages = new Map<string, Message>();
  const inOrder = createKeyedLock();
  const lastEdit = new Map<string, number>();
  const pending = new Map<string, FinetuneJob>();

  async function channelOf(id: string | undefined) {
    if (!id) return undefined;
    const channel = await ports.client.channels.fetch(id).catch(() => null);
    return channel?.isSendable() ? channel : undefined;
  }

  async function render(job: FinetuneJob) {
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

  /** Posts or edits the job's message now; one at a time per job, in order. */
  const show = (job: FinetuneJob) =>
    inOrder.run(job.id, async () => {
      lastEdit.set(job.id, ports.clock.now());
      pending.delete(job.id);
      const payload = await render(job);
      const message = messages.get(job.id);
      if (message) await message.edit(payload);
      else {
        const posted = await (await channelOf(ports.config.logChannelId))?.send(payload);
        if (posted) messages.set(job.id, posted);
      }
      if (job.state === 'awaiting_architect') await postCard(job);
    });

  /** Edits at most every {@link EDIT_EVERY_MS}; the last state always shows, the final at once. */
  function onJob(job: FinetuneJob) {
    const since = ports.clock.now() - (lastEdit.get(job.id) ?? Number.NEGATIVE_INFINITY);
    if (job.stage === 'done' || since >= EDIT_EVERY_MS) {
      void show(job).catch((error: unknown) =>
        log.warn({ err: error, job: job.id }, 'could not show a fine-tune'),
      );
      return;
    }
    const waiting = pending.has(job.id);
    pending.set(job.id, job);
    if (waiting) return;
    void ports.clock.sleep(EDIT_EVERY_MS - since).then(() => {
      const latest = pending.get(job.id);
      if (latest)
        void show(latest).catch((error: unknown) =>
          log.warn({ err: error, job: job.id }, 'could not show a fine-tune'),
        );
    });
  }

  function cardButtons(id: string, enabled: boolean) {
    return new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(`${FINETUNE_BUTTONS}:promote:${id}`)
        .setLabel('Promote')
        .setStyle(ButtonStyle.Success)
        .setDisabled(!enabled),
      new ButtonBuilder()
        .setCustomId(`${FINETUNE_BUTTONS}:discard:${id}`)
        .setLabel('Discard')
        .setStyle(ButtonStyle.Danger)
        .setDisabled(!enabled),
    );
  }

  async function postCard(job: FinetuneJob) {
    const channel =
      (await channelOf(ports.config.governanceChannelId)) ?? (await channelOf(ports.config.logChannelId));
    if (!channel) {
      log.warn(
        { job: job.id },
        'a fine-tune awaits the architect, but neither GOVERNANCE_CHANNEL_ID nor LOG_CHANNEL_ID is set',
      );
      return;
    }
    await channel.send({
      content: `🧑‍⚖️ A fine-tuned ${job.persona} is better than the model in force. Promote it, or discard it.`,
      embeds: [jobEmbed(job)],
      components: [cardButtons(job.id, true)],
      allowedMentions: NO_MENTIONS,
    });
  }

  async function onButton(interaction: ButtonInteraction): Promise<void> {
    const [, action = '', id = ''] = interaction.customId.split(':');
    const privately = (content: string) =>
      interaction.deferred || interaction.replied
        ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
        : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    if (action !== 'promote' && action !== 'discard') {
      await privately('I do not know that button.');
      return;
    }
    const verdict = await ports.architects.check(interaction);
    if (!verdict.ok) {
      await privately(`${verdict.reason} Nothing was changed.`);
      return;
    }
    await interaction.deferUpdate();
    const decision =
      action === 'promote'
        ? ports.fineTuner.promote(id, interaction.user.id)
        : ports.fineTuner.discard(id, interaction.user.id);
    const job = decision.ok ? decision.job : (decision.job ?? ports.fineTuner.get(id));
    if (job) await interaction.editReply({ embeds: [jobEmbed(job)], components: [cardButtons(id, false)] });
    await privately(
      decision.ok
        ? decision.job.state === 'promoted'
          ? `✅ Promoted: ${decision.job.persona} now speaks through \`${decision.job.candidate}\`.`
          : '🗑️ Discarded: the model in force stays.'
        : decision.reason,
    );
  }

  return {
    buttons: { prefix: FINETUNE_BUTTONS, handle: onButton },
    embed: jobEmbed,
    listen() {
      return ports.bus.subscribe('finetune_job', ({ job }) => onJob(job));
    },
  };
}
