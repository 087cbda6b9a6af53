import type {
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Config } from '../services/config.ts';
import type { BotContext } from './botContext.ts';

/**
 * One slash command: its definition (`data`, as sent to Discord) apart from its behaviour.
 * Modules in `commands/` export one as `default` and do nothing when imported.
 */
export interface Command {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /**
   * Acknowledge before `execute` runs, for anything that may take longer than Discord's 3 s:
   * `'public'` or `'ephemeral'`. Without it, `execute` must reply itself.
   */
  defer?: 'public' | 'ephemeral';
  /**
   * Only members with the architect role may run it; checked by the router, server side. A
   * function decides per interaction (one subcommand, or a setting such as `FORGE_OPEN_TO_ALL`).
   */
  architectOnly?: boolean | ((interaction: ChatInputCommandInteraction, config: Config) => boolean);
  execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void>;
}
