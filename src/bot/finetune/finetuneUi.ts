import type { Client, EmbedBuilder } from 'discord.js';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { FineTuner } from '../../services/finetune/fineTuner.ts';
import type { FinetuneJob } from '../../services/finetune/finetuneStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { ArchitectGate } from '../access/architects.ts';
import type { ButtonFamily } from '../interactions/buttons.ts';
import { FINETUNE_BUTTONS, handleFinetuneButton, postDecisionCard } from './finetuneButtons.ts';
import { jobEmbed } from './jobEmbed.ts';
import { JobLogMessages } from './jobLogMessages.ts';

export { FINETUNE_BUTTONS } from './finetuneButtons.ts';
export { evaluationTable, jobDetail, jobEmbed } from './jobEmbed.ts';
export { EDIT_EVERY_MS } from './jobLogMessages.ts';

/**
 * Fine-tunes in Discord: one message per job in `LOG_CHANNEL_ID`, edited as the job goes (at
 * most every few seconds), finished with the loss curve and the evaluation; with
 * `FINETUNE_PROMOTION=architect` (the default), a card with Promote and Discard in the governance channel.
 */
export interface FinetuneUi {
  /** The `finetune:` buttons (Promote, Discard). */
  readonly buttons: ButtonFamily;
  /** Follows the jobs; returns a function that stops it. */
  listen(): () => void;
  /** The job as an embed (also for `/finetune status`). */
  embed(job: FinetuneJob): EmbedBuilder;
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
  const { client, config, clock } = ports;
  const log = ports.logger.child({ module: 'finetune-ui' });
  const messages = new JobLogMessages({
    client,
    config,
    clock,
    log,
    onAwaiting: (job) => postDecisionCard({ client, config, log }, job),
  });
  return {
    buttons: { prefix: FINETUNE_BUTTONS, handle: (interaction) => handleFinetuneButton(ports, interaction) },
    embed: jobEmbed,
    listen: () => ports.bus.subscribe('finetune_job', ({ job }) => messages.follow(job)),
  };
}
