import type { Client } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { CurationReport } from '../../services/curation/curation.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Logger } from '../../services/logger.ts';
import { plural } from '../../shared/text.ts';
import { logChannel } from '../posting/channels.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';

/** A run that kept samples, in one line: `curated 12 dialogues: BRICK +3, ROBIN +1`. */
export function curationLine(report: CurationReport): string {
  const added = Object.entries(report.personas)
    .filter(([, tally]) => tally.added > 0)
    .map(([persona, tally]) => `${persona} +${tally.added}`);
  return `curated ${plural(report.dialogues, 'dialogue')}: ${added.join(', ')}`;
}

/** Posts that line in `LOG_CHANNEL_ID` after every curation run that kept something. */
export function announceCuration(deps: {
  bus: EventBus;
  client: Client;
  config: Pick<Config, 'logChannelId'>;
  logger: Logger;
}): () => void {
  return deps.bus.subscribe('curated', async ({ report }) => {
    const channel = await logChannel(deps.client, deps.config, deps.logger);
    await channel?.send({ content: `🏅 ${curationLine(report)}`, allowedMentions: NO_MENTIONS });
  });
}
