import type {
  InteractionEditReplyOptions,
  InteractionReplyOptions,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Config } from '../../services/config.ts';

/**
 * What most commands read of an interaction, and how they answer it. A discord.js
 * `ChatInputCommandInteraction` is one; a unit test passes a plain object.
 */
export interface CommandCall {
  readonly commandName: string;
  readonly user: { readonly id: string; readonly username: string };
  readonly guildId: string | null;
  readonly channelId: string;
  readonly options: {
    getSubcommand(): string;
    getString(name: string, required: true): string;
    getString(name: string, required?: boolean): string | null;
    getInteger(name: string, required: true): number;
    getInteger(name: string, required?: boolean): number | null;
  };
  reply(options: InteractionReplyOptions): Promise<unknown>;
  editReply(options: InteractionEditReplyOptions): Promise<unknown>;
}

/** What an autocomplete handler reads: the option being typed, the others, where and who. */
export interface AutocompleteCall {
  readonly guildId: string | null;
  readonly user: { readonly id: string };
  readonly options: {
    getFocused(full: true): { name: string; value: string | number };
    getSubcommand(required?: boolean): string | null;
    getString(name: string): string | null;
  };
}

/** One choice offered while a member types (Discord shows at most 25). */
export interface Choice {
  name: string;
  value: string | number;
}

/** What the bot tells of a command (for `/help`): its definition and who may run it. */
export interface CommandInfo {
  data: RESTPostAPIChatInputApplicationCommandsJSONBody;
  architectOnly?: boolean | ((interaction: CommandCall, config: Config) => boolean);
  /** Set on an older name of other commands: `/help` lists those instead. */
  aliasOf?: readonly string[];
}
