import {
  ChannelType,
  type Client,
  type Guild,
  type GuildBasedChannel,
  OverwriteType,
  PermissionFlagsBits,
} from 'discord.js';
import type { DialogueVisibility } from '../../graph/runContext.ts';
import type { Asker } from './architects.ts';
import { everyReaderCanView, type GuildFacts, type OverwriteFacts } from './readers.ts';
import { visibilityOf } from './visibility.ts';

/**
 * Who can read which channel, so that memory never carries a dialogue to someone who could not
 * read it where it happened: recall into a dialogue, `/memory search`, a proposal's evidence, the
 * motivator's reflections, the tool lists and the log channel's tool cards all ask here.
 *
 * A dialogue is filed under its place (`placeOf`): a public thread's under its parent channel
 * (whoever can view the channel can open the thread), a private thread's under the thread itself
 * (only its members, and those who may manage the channel's threads, can open it).
 */
export interface ChannelAccess {
  /** The channels (not threads) of the asker's server that the asker can view. */
  visibleTo(asker: Asker): Promise<string[]>;
  /**
   * What the asker may read now, place by place, for one request (each place is asked about
   * once): a channel they can view, a public thread of one, a private thread they are a member
   * of or whose channel's threads they may manage. Unknown places: no.
   */
  reader(asker: Asker): (channelId: string) => Promise<boolean>;
  /**
   * The places whose dialogues may be shown to everyone who can read `channelId` (a channel or a
   * thread): its own place, and every channel of the server that all its possible readers can
   * view too, whatever roles they hold (Discord's rules, see `readers.ts`).
   */
  sharedWith(channelId: string): string[];
  /**
   * Where what is said in a channel or thread is filed: a private thread itself, a public
   * thread's parent, else the channel.
   */
  placeOf(channelId: string): string;
  /**
   * Who can see a channel or thread, for curation's `CURATION_SCOPE`: public, restricted, a
   * private thread, another server or a DM; undefined when the bot does not know the channel.
   */
  visibilityOf(channelId: string): DialogueVisibility | undefined;
}

const VIEW = PermissionFlagsBits.ViewChannel;

/** The server as the permission rules read it. */
function guildFacts(guild: Guild): GuildFacts {
  return {
    id: guild.id,
    ownerId: guild.ownerId,
    roles: new Map([...guild.roles.cache.values()].map((role) => [role.id, role.permissions.bitfield])),
  };
}

/** A channel's overwrites as the permission rules read them; a thread has its parent's. */
function overwritesOf(channel: GuildBasedChannel): OverwriteFacts[] {
  const home = channel.isThread() ? channel.parent : channel;
  if (!home || !('permissionOverwrites' in home)) return [];
  return [...home.permissionOverwrites.cache.values()].map((o) => ({
    id: o.id,
    type: o.type === OverwriteType.Member ? 'member' : 'role',
    allow: o.allow.bitfield,
    deny: o.deny.bitfield,
  }));
}

async function memberOf(guild: Guild, userId: string) {
  return guild.members.cache.get(userId) ?? (await guild.members.fetch(userId).catch(() => null));
}

/** Whether the asker may read a channel or thread now (see `ChannelAccess.reader`). */
async function canRead(client: Client, asker: Asker, channelId: string): Promise<boolean> {
  const guild = asker.guildId ? client.guilds.cache.get(asker.guildId) : undefined;
  if (!guild) return false;
  const channel =
    client.channels.cache.get(channelId) ?? (await client.channels.fetch(channelId).catch(() => null));
  if (!channel || channel.isDMBased() || channel.guildId !== guild.id) return false;
  const member = await memberOf(guild, asker.user.id);
  // A thread's permissions are its parent's.
  const permissions = member ? channel.permissionsFor(member) : null;
  if (!member || !permissions?.has(VIEW)) return false;
  if (channel.type !== ChannelType.PrivateThread || permissions.has(PermissionFlagsBits.ManageThreads))
    return true;
  // Who is in a thread is not cached (client.ts): Discord answers 404 for someone who is not.
  return channel.members.fetch({ member: member.id, force: true }).then(
    () => true,
    () => false,
  );
}

export function createChannelAccess(
  client: Client,
  options: {
    /** The bot's home server, as the architect gate resolves it now. */
    homeGuildId?: () => string | undefined;
  } = {},
): ChannelAccess {
  const channelsOf = (guild: Guild) => [...guild.channels.cache.values()].filter((c) => !c.isThread());
  const placeOf = (channelId: string) => {
    const channel = client.channels.cache.get(channelId);
    if (!channel?.isThread() || channel.type === ChannelType.PrivateThread) return channelId;
    return channel.parentId ?? channelId;
  };
  return {
    async visibleTo(asker) {
      const guild = asker.guildId ? client.guilds.cache.get(asker.guildId) : undefined;
      const member = guild ? await memberOf(guild, asker.user.id) : null;
      if (!guild || !member) return [];
      return channelsOf(guild)
        .filter((channel) => channel.permissionsFor(member).has(VIEW))
        .map((channel) => channel.id);
    },
    reader(asker) {
      const asked = new Map<string, Promise<boolean>>();
      return (channelId) => {
        let answer = asked.get(channelId);
        if (!answer) {
          answer = canRead(client, asker, channelId).catch(() => false);
          asked.set(channelId, answer);
        }
        return answer;
      };
    },
    sharedWith(channelId) {
      const channel = client.channels.cache.get(channelId);
      if (!channel || channel.isDMBased()) return [channelId];
      const home = channel.isThread() ? channel.parent : channel;
      if (!home) return [channelId];
      const guild = guildFacts(channel.guild);
      const from = overwritesOf(home);
      const ignore = client.user?.id;
      const shared = channelsOf(channel.guild)
        .filter(
          (other) =>
            other.id === home.id ||
            everyReaderCanView(guild, from, overwritesOf(other), ignore ? { ignore } : {}),
        )
        .map((other) => other.id);
      // A private thread's readers are some of its channel's: they read what those read, and the thread.
      return channel.type === ChannelType.PrivateThread ? [...shared, channelId] : shared;
    },
    placeOf,
    visibilityOf: (channelId) => visibilityOf(client, channelId, options.homeGuildId?.()),
  };
}
