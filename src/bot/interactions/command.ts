import type {
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { BotPorts } from '../ports.ts';
import type { AutocompleteCall, Choice, CommandCall } from './commandCall.ts';

export type { AutocompleteCall, Choice, CommandCall, CommandInfo } from './commandCall.ts';

/** How a command acknowledges before it runs: seen by the channel, or by the asker alone. */
export type Deferral = 'public' | 'ephemeral';

/** Some of the bot's ports, by name: what most commands declare they need. */
export type PortsOf<K extends keyof BotPorts> = Pick<BotPorts, K>;

/**
 * One slash command: its definition (`data`, as sent to Discord) apart from its behaviour, and
 * the ports it needs (`P`: `PortsOf<'memory' | …>`, or narrower interfaces that the bot's ports
 * satisfy). Modules in `commands/` export one as `default` and do nothing when imported. `I` is
 * what it reads of the interaction: the narrow {@link CommandCall} where that is enough, the
 * whole discord.js interaction where it is not.
 */
export interface Command<P extends object = BotPorts, I extends CommandCall = ChatInputCommandInteraction> {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  /**
   * Acknowledge before `execute` runs, for anything that may take longer than Discord's 3 s:
   * `'public'` or `'ephemeral'`. Without it, `execute` must reply itself.
   */
  defer?: Deferral | ((interaction: CommandCall) => Deferral);
  /** The commands this one is an older name of: it works as they do, and `/help` lists only them. */
  aliasOf?: readonly string[];
  /**
   * Only members with the architect role may run it; checked by the router, server side. A
   * function decides per interaction (one subcommand, or a setting such as `FORGE_OPEN_TO_ALL`).
   */
  architectOnly?: boolean | ((interaction: CommandCall, config: Config) => boolean);
  /**
   * It uses the models (a model call, an embedding, a forge): each run counts against the
   * member's `MEMBER_RUNS_PER_HOUR`, in the window the dialogues they start share, and past it
   * the router refuses politely, saying when to try again. Checked after `architectOnly`, before
   * the deferral. A function decides per interaction (one subcommand). Commands that start a
   * dialogue (`/ask`) are counted by the dialogue starter instead, once.
   */
  limited?: boolean | ((interaction: CommandCall) => boolean);
  execute(interaction: I, ports: P): Promise<void>;
  /** Choices for an option declared with `setAutocomplete(true)`, as the member types (≤ 25). */
  autocomplete?(interaction: AutocompleteCall, ports: P): Choice[] | Promise<Choice[]>;
}
