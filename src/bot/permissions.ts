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

/**
 * Whether the member behind an interaction has the architect role (by name or id). Decided
 * here, on the server: Discord cannot restrict a button or an option to a role.
 */
export function checkArchitect(interaction: Interaction, roleNameOrId: string): Check {
  const role = findRole(interaction.guild, roleNameOrId);
  const denied = `Only members with the **${role?.name ?? roleNameOrId}** role can do this.`;
  if (!interaction.inGuild() || !role) return { ok: false, reason: denied };
  return roleIdsOf(interaction.member).includes(role.id) ? { ok: true } : { ok: false, reason: denied };
}
