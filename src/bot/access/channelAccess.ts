import { type Client, type GuildBasedChannel, OverwriteType, PermissionFlagsBits } from 'discord.js';
import type { DialogueVisibility } from '../../graph/runContext.ts';
import type { Asker } from './architects.ts';
import { visibilityOf } from './visibility.ts';

/**
 * Who can read which channel, so that memory never carries a dialogue to someone who could not
 * read it where it happened: recall into a dialogue, `/memory search`, a proposal's evidence and
 * the motivator's reflections all ask here. Dialogues are remembered by their thread's parent
 * channel.
 */
export interface ChannelAccess {
  /** The channels of the asker's server that the asker can view. */
  visibleTo(asker: Asker): Promise<string[]>;
  /**
   * The channels whose dialogues may be shown to everyone who can read `channelId`: the channel
   * itself, and every channel of the server that all its readers can read too.
   */
  sharedWith(channelId: string): string[];
  /**
   * Who can see a channel or thread, for curation's `CURATION_SCOPE`: public, restricted, a
   * private thread, another server or a DM; undefined when the bot does not know the channel.
   */
  visibilityOf(channelId: string): DialogueVisibility | undefined;
}

const VIEW = PermissionFlagsBits.ViewChannel;

/** Members named in a channel's overwrites that let them view it, or keep them out. */
function memberOverwrites(channel: GuildBasedChannel, bits: 'allow' | 'deny'): string[] {
  if (!('permissionOverwrites' in channel)) return [];
  return channel.permissionOverwrites.cache
    .filter((o) => o.type === OverwriteType.Member && o[bits].has(VIEW))
    .map((o) => o.id);
}

/**
 * Whether everyone who can view `from` can view `to`, judged role by role (a member views a
 * channel through a role, @everyone or an overwrite of their own): every role that sees `from`
 * sees `to`, every member let into `from` by name is let into `to`, and nobody is kept out of
 * `to` by name. Conservative: in doubt, not shared.
 */
function readersCanRead(from: GuildBasedChannel, to: GuildBasedChannel): boolean {
  if (from.id === to.id) return true;
  const roles = [...from.guild.roles.cache.values()];
  if (roles.some((role) => from.permissionsFor(role).has(VIEW) && !to.permissionsFor(role).has(VIEW)))
    return false;
  const letIn = new Set(memberOverwrites(to, 'allow'));
  if (memberOverwrites(from, 'allow').some((id) => !letIn.has(id))) return false;
  return memberOverwrites(to, 'deny').length === 0;
}

export function createChannelAccess(
  client: Client,
  options: {
    /** The bot's home server, as the architect gate resolves it now. */
    homeGuildId?: () => string | undefined;
  } = {},
): ChannelAccess {
  const channelsOf = (guildId: string) =>
    [...(client.guilds.cache.get(guildId)?.channels.cache.values() ?? [])].filter((c) => !c.isThread());
  return {
    async visibleTo(asker) {
      if (!asker.guildId) return [];
      const guild = client.guilds.cache.get(asker.guildId);
      const member = guild
        ? (guild.members.cache.get(asker.user.id) ??
          (await guild.members.fetch(asker.user.id).catch(() => null)))
        : null;
      if (!member) return [];
      return channelsOf(asker.guildId)
        .filter((channel) => channel.permissionsFor(member).has(VIEW))
        .map((channel) => channel.id);
    },
    sharedWith(channelId) {
      const channel = client.channels.cache.get(channelId);
      if (!channel || channel.isDMBased()) return [channelId];
      const home = channel.isThread() ? channel.parent : channel;
      if (!home) return [channelId];
      return channelsOf(channel.guildId)
        .filter((other) => readersCanRead(home, other))
        .map((other) => other.id);
    },
    visibilityOf: (channelId) => visibilityOf(client, channelId, options.homeGuildId?.()),
  };
}
