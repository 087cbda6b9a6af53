import type { Guild, GuildMember, Interaction } from 'discord.js';

/** A check that returns its verdict rather than throwing. */
export type Check = { ok: true } | { ok: false; reason: string };

function roleIdsOf(member: Interaction['member']): string[] {
  if (!member) return [];
  const roles = (member as GuildMember).roles;
  if (Array.isArray(roles)) return roles;
  return [...(roles as GuildMember['roles']).cache.keys()];
}

function findRole(guild: Guild | null, nameOrId: string) {
  if (!guild) return undefined;
  return (
    guild.roles.cache.get(nameOrId) ??
    guild.roles.cache.find((role) => role.name.toLowerCase() === nameOrId.toLowerCase())
  );
}

/** Who governs: the architect role (name or id), and the server it counts in. */
export interface ArchitectPolicy {
  role: string;
  /**
   * The bot's home server (`DISCORD_GUILD_ID`, else the governance channel's server). A role of
   * the same name in another server the bot was added to grants nothing. Unset: any server.
   */
  homeGuildId?: string | undefined;
}

/**
 * Whether the member behind an interaction has the architect role (by name or id) in the home
 * server. Decided here, on the server: Discord cannot restrict a button or an option to a role.
 */
export function checkArchitect(interaction: Interaction, policy: ArchitectPolicy): Check {
  const role = findRole(interaction.guild, policy.role);
  const denied = `Only members with the **${role?.name ?? policy.role}** role can do this.`;
  if (!interaction.inGuild() || !role) return { ok: false, reason: denied };
  if (policy.homeGuildId && interaction.guildId !== policy.homeGuildId) {
    return { ok: false, reason: `${denied} Governance happens only in the bot's home server.` };
  }
  return roleIdsOf(interaction.member).includes(role.id) ? { ok: true } : { ok: false, reason: denied };
}
