import { type Client, Events, type Interaction } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { HumanActivity } from '../activity.ts';

/** Hands every interaction to the router while the bot runs; each counts as human activity. */
export function listenToInteractions(
  client: Client,
  deps: {
    route: (interaction: Interaction) => Promise<void>;
    activity: Pick<HumanActivity, 'touch'>;
    isStopping: () => boolean;
    logger: Logger;
  },
): void {
  client.on(Events.InteractionCreate, (interaction) => {
    if (deps.isStopping()) return;
    deps.activity.touch();
    deps
      .route(interaction)
      .catch((error: unknown) => deps.logger.error({ err: error }, 'interaction router failed'));
  });
}
