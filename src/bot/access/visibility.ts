import { ChannelType, type Client, PermissionFlagsBits } from 'discord.js';
import type { DialogueVisibility } from '../../graph/runContext.ts';

/**
 * Who can see where a dialogue happens, found when it runs and kept with its record: curation
 * takes only what everyone may see (`CURATION_SCOPE`), so this is decided here, where Discord's
 * channels and roles are known, and not guessed later.
 */

/** The plain facts the decision reads. */
export interface PlaceFacts {
  /** The server; null in a direct message. */
  guildId: string | null;
  /** The bot's home server (see `ArchitectPolicy.homeGuildId`); unknown: every server is foreign. */
  homeGuildId: string | undefined;
  /** Whether the dialogue is held in a private thread. */
  privateThread: boolean;
  /** Whether the @everyone role can view the channel (a thread's parent). */
  everyoneCanView: boolean;
}

/** The visibility from plain facts: a DM, another server, a private thread, or who can read the channel. */
export function decideVisibility(facts: PlaceFacts): DialogueVisibility {
  if (!facts.guildId) return 'dm';
  // Unknown home server: fail closed, as governance does.
  if (!facts.homeGuildId || facts.guildId !== facts.homeGuildId) return 'foreign';
  if (facts.privateThread) return 'private-thread';
  return facts.everyoneCanView ? 'public' : 'restricted';
}

/**
 * The visibility of a channel or thread the client knows, or undefined when it does not know it
 * (a record without one counts as not public).
 */
export function visibilityOf(
  client: Client,
  channelId: string,
  homeGuildId: string | undefined,
): DialogueVisibility | undefined {
  const channel = client.channels.cache.get(channelId);
  if (!channel) return undefined;
  if (channel.isDMBased()) return 'dm';
  const home = channel.isThread() ? channel.parent : channel;
  const everyone = channel.guild.roles.everyone;
  return decideVisibility({
    guildId: channel.guildId,
    homeGuildId,
    privateThread: channel.type === ChannelType.PrivateThread,
    everyoneCanView: home?.permissionsFor(everyone).has(PermissionFlagsBits.ViewChannel) ?? false,
  });
}
