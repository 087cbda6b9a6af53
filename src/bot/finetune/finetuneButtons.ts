import {
  ActionRowBuilder,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type Client,
  MessageFlags,
} from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { FineTuner } from '../../services/finetune/fineTuner.ts';
import type { FinetuneJob } from '../../services/finetune/finetuneStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { ArchitectGate } from '../access/architects.ts';
import { sendableChannel } from '../posting/channels.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { jobEmbed } from './jobEmbed.ts';

/**
 * With `FINETUNE_PROMOTION=architect` (the default), a better candidate waits for a decision: a card with
 * Promote and Discard in the governance channel, and the `finetune:` buttons that decide.
 */

export const FINETUNE_BUTTONS = 'finetune';

/** Promote and Discard for job `id`; disabled once it is decided. */
export function decisionButtons(id: string, enabled: boolean) {
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

/** Posts the decision card in `GOVERNANCE_CHANNEL_ID`, else in `LOG_CHANNEL_ID`. */
export async function postDecisionCard(
  deps: { client: Client; config: Pick<Config, 'logChannelId' | 'governanceChannelId'>; log: Logger },
  job: FinetuneJob,
): Promise<void> {
  const channel =
    (await sendableChannel(deps.client, deps.config.governanceChannelId)) ??
    (await sendableChannel(deps.client, deps.config.logChannelId));
  if (!channel) {
    deps.log.warn(
      { job: job.id },
      'a fine-tune awaits the architect, but neither GOVERNANCE_CHANNEL_ID nor LOG_CHANNEL_ID is set',
    );
    return;
  }
  await channel.send({
    content: `🧑‍⚖️ A fine-tuned ${job.persona} is better than the model in force. Promote it, or discard it.`,
    embeds: [jobEmbed(job)],
    components: [decisionButtons(job.id, true)],
    allowedMentions: NO_MENTIONS,
  });
}

/** An architect's Promote or Discard: the card shows the outcome, the presser is told privately. */
export async function handleFinetuneButton(
  deps: {
    fineTuner: Pick<FineTuner, 'promote' | 'discard' | 'get'>;
    architects: Pick<ArchitectGate, 'check'>;
  },
  interaction: ButtonInteraction,
): Promise<void> {
  const [, action = '', id = ''] = interaction.customId.split(':');
  const privately = (content: string) =>
    interaction.deferred || interaction.replied
      ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
      : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
  if (action !== 'promote' && action !== 'discard') {
    await privately('I do not know that button.');
    return;
  }
  const verdict = await deps.architects.check(interaction);
  if (!verdict.ok) {
    await privately(`${verdict.reason} Nothing was changed.`);
    return;
  }
  await interaction.deferUpdate();
  const decision =
    action === 'promote'
      ? await deps.fineTuner.promote(id, interaction.user.id)
      : await deps.fineTuner.discard(id, interaction.user.id);
  const job = decision.ok ? decision.job : (decision.job ?? (await deps.fineTuner.get(id)));
  if (job) await interaction.editReply({ embeds: [jobEmbed(job)], components: [decisionButtons(id, false)] });
  await privately(
    decision.ok
      ? decision.job.state === 'promoted'
        ? `✅ Promoted: ${decision.job.persona} now speaks through \`${decision.job.candidate}\`.`
        : '🗑️ Discarded: the model in force stays.'
      : decision.reason,
  );
}
