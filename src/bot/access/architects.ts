import type { Client } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { Refusal } from '../../services/errors.ts';

/** Why the architect gate said no. */
export type ArchitectRefusalCode =
  /** Not in a server, or the server has no such role. */
  | 'NOT_ARCHITECT'
  /** The role counts only in the bot's home server. */
  | 'NOT_HOME_SERVER'
  /** No home server is known (`DISCORD_GUILD_ID` unset, the governance channel unresolved): nobody governs. */
  | 'NO_HOME_SERVER';

/** A check that returns its verdict rather than throwing. */
export type Check = { ok: true } | Refusal<ArchitectRefusalCode>;

/** Who governs: the architect role (name or id), and the server it counts in. */
export interface ArchitectPolicy {
  role: string;
  /**
   * The bot's home server (`DISCORD_GUILD_ID`, else the governance channel's server once it
   * resolves). A role of the same name in another server the bot was added to grants nothing.
   * Unknown: nobody may govern (fail closed).
   */
  homeGuildId?: string | undefined;
}

/** Someone asking to do something privileged: an interaction is one. */
export interface Asker {
  readonly guildId: string | null;
  readonly user: { readonly id: string };
}

/**
 * Decides, on the server, whether someone may govern: approve, reject, roll back, forge and
 * remove tools. Discord cannot restrict a button or an option to a role, so every privileged
 * handler asks this gate.
 */
export interface ArchitectGate {
  /** The role and the home server it counts in, as resolved now. */
  policy(): ArchitectPolicy;
  check(asker: Asker): Promise<Check>;
}

/** What the architect decision reads: the policy, the server's roles and the member's. */
export interface ArchitectFacts {
  policy: ArchitectPolicy;
  /** The server asked from; null outside servers. */
  guildId: string | null;
  /** The roles of that server. */
  guildRoles: ReadonlyArray<{ id: string; name: string }>;
  /** The member's role ids; null when the member is unknown. */
  memberRoleIds: readonly string[] | null;
}

/** The architect decision itself, from plain facts: the role by id or name, in the home server. */
export function decideArchitect(facts: ArchitectFacts): Check {
  const { role: wanted, homeGuildId } = facts.policy;
  const role =
    facts.guildRoles.find((r) => r.id === wanted) ??
    facts.guildRoles.find((r) => r.name.toLowerCase() === wanted.toLowerCase());
  if (!homeGuildId) {
    return {
      ok: false,
      code: 'NO_HOME_SERVER',
      reason:
        'Governance is off: the bot does not know its home server. The operator sets DISCORD_GUILD_ID (or a GOVERNANCE_CHANNEL_ID the bot can see) and restarts it.',
    };
  }
  const denied = `Only members with the **${role?.name ?? wanted}** role can do this.`;
  if (!facts.guildId || !role) return { ok: false, code: 'NOT_ARCHITECT', reason: denied };
  if (facts.guildId !== homeGuildId) {
    return {
      ok: false,
      code: 'NOT_HOME_SERVER',
      reason: `${denied} Governance happens only in the bot's home server.`,
    };
  }
  return facts.memberRoleIds?.includes(role.id)
    ? { ok: true }
    : { ok: false, code: 'NOT_ARCHITECT', reason: denied };
}

/**
 * The gate over the discord.js client: the member's roles come from the guild's member cache
 * (every interaction refreshes its member there) or, failing that, from Discord.
 */
export function createArchitectGate(deps: {
  client: Client;
  config: Pick<Config, 'architectRole' | 'discordGuildId' | 'governanceChannelId'>;
}): ArchitectGate {
  const { client, config } = deps;
  const policy = (): ArchitectPolicy => {
    const governance = config.governanceChannelId
      ? client.channels.cache.get(config.governanceChannelId)
      : undefined;
    const homeGuildId =
      config.discordGuildId ?? (governance && 'guildId' in governance ? governance.guildId : undefined);
    return { role: config.architectRole, homeGuildId };
  };
  return {
    policy,
    async check(asker) {
      const guild = asker.guildId ? client.guilds.cache.get(asker.guildId) : undefined;
      const member = guild
        ? (guild.members.cache.get(asker.user.id) ??
          (await guild.members.fetch(asker.user.id).catch(() => null)))
        : null;
      return decideArchitect({
        policy: policy(),
        guildId: guild?.id ?? null,
        guildRoles: guild ? [...guild.roles.cache.values()] : [],
        memberRoleIds: member ? [...member.roles.cache.keys()] : null,
      });
    },
  };
}
