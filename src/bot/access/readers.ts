import { PermissionFlagsBits } from 'discord.js';

/**
 * Who can view a channel, by Discord's own rules, over plain facts: a member's permissions are
 * those of all their roles together (@everyone's included), then the channel's @everyone
 * overwrite, then the overwrites of all their roles at once (denials first, then allowances),
 * then their own overwrite; the owner and an Administrator see everything. This is what
 * discord.js's `permissionsFor(member)` computes. Here it is also asked of members the bot has
 * never seen: the bot is given no member list (the members intent is privileged), so whether
 * everyone who reads one channel may read another is decided for every set of roles a member
 * could hold.
 */

const VIEW = PermissionFlagsBits.ViewChannel;
const ADMINISTRATOR = PermissionFlagsBits.Administrator;

/** One permission overwrite of a channel: for a role (@everyone's has the server's id) or a member. */
export interface OverwriteFacts {
  id: string;
  type: 'role' | 'member';
  allow: bigint;
  deny: bigint;
}

/** What the rules read of a server. */
export interface GuildFacts {
  /** The server's id, which is also its @everyone role's. */
  id: string;
  ownerId: string;
  /** Every role's server-wide permissions, by id, @everyone's included. */
  roles: ReadonlyMap<string, bigint>;
}

/** Someone the rules are asked about: their id and their roles (@everyone is implied). */
export interface MemberFacts {
  id: string;
  roles: Iterable<string>;
}

/** Whether someone with `roles` (and, if given, their own overwrite) may view a channel with `overwrites`. */
export function canView(
  guild: GuildFacts,
  overwrites: readonly OverwriteFacts[],
  member: { id?: string; roles: Iterable<string> },
): boolean {
  if (member.id !== undefined && member.id === guild.ownerId) return true;
  const held = new Set([guild.id, ...member.roles]);
  let permissions = 0n;
  for (const role of held) permissions |= guild.roles.get(role) ?? 0n;
  if (permissions & ADMINISTRATOR) return true;
  const apply = (overwrite: Pick<OverwriteFacts, 'allow' | 'deny'> | undefined) => {
    if (overwrite) permissions = (permissions & ~overwrite.deny) | overwrite.allow;
  };
  apply(overwrites.find((o) => o.type === 'role' && o.id === guild.id));
  const ofRoles = overwrites.filter((o) => o.type === 'role' && o.id !== guild.id && held.has(o.id));
  apply({
    deny: ofRoles.reduce((bits, o) => bits | o.deny, 0n),
    allow: ofRoles.reduce((bits, o) => bits | o.allow, 0n),
  });
  if (member.id !== undefined) apply(overwrites.find((o) => o.type === 'member' && o.id === member.id));
  return (permissions & VIEW) !== 0n;
}

/**
 * The role sets that decide whether a member without an overwrite of their own could view
 * `from` and not `to`: none, each role and each pair of roles named in either channel's
 * overwrites or standing for the roles that view everywhere. Roles named in neither channel's
 * overwrites act only through their server-wide View Channel, so one such role stands for all
 * that have it; and a member who views one channel and not the other always has a pair of
 * their roles that does too (one role that lets them into `from`, one that keeps them out of
 * `to`), so larger sets add nothing.
 */
function roleSetsToTry(guild: GuildFacts, from: readonly OverwriteFacts[], to: readonly OverwriteFacts[]) {
  const named = new Set(
    [...from, ...to].filter((o) => o.type === 'role' && o.id !== guild.id).map((o) => o.id),
  );
  const roles = [...named].filter((id) => !((guild.roles.get(id) ?? 0n) & ADMINISTRATOR));
  const viewer = [...guild.roles].find(
    ([id, bits]) => id !== guild.id && !named.has(id) && bits & VIEW && !(bits & ADMINISTRATOR),
  );
  if (viewer) roles.push(viewer[0]);
  const sets: string[][] = [[]];
  roles.forEach((role, i) => {
    sets.push([role]);
    for (const other of roles.slice(i + 1)) sets.push([role, other]);
  });
  return sets;
}

/** Whether every member without an overwrite of their own could view the channel, whatever their roles. */
function everyoneViews(guild: GuildFacts, overwrites: readonly OverwriteFacts[]): boolean {
  return roleSetsToTry(guild, [], overwrites).every((roles) => canView(guild, overwrites, { roles }));
}

/** Whether some member without an overwrite of their own could view the channel. */
function someoneViews(guild: GuildFacts, overwrites: readonly OverwriteFacts[]): boolean {
  return roleSetsToTry(guild, overwrites, []).some((roles) => canView(guild, overwrites, { roles }));
}

/**
 * Whether everyone who can view `from` can view `to`: every member the rules could meet,
 * whatever their roles. A member named in either channel's overwrites is judged by those, and
 * by the worst their roles could do otherwise: the bot does not learn when a member's roles
 * change (that needs the privileged members intent), so roles it saw once are not relied on.
 * Conservative: in doubt, not shared. `ignore` names who does not count as a reader (the bot).
 */
export function everyReaderCanView(
  guild: GuildFacts,
  from: readonly OverwriteFacts[],
  to: readonly OverwriteFacts[],
  options: { ignore?: string } = {},
): boolean {
  for (const roles of roleSetsToTry(guild, from, to)) {
    if (canView(guild, from, { roles }) && !canView(guild, to, { roles })) return false;
  }
  const named = new Set([...from, ...to].filter((o) => o.type === 'member').map((o) => o.id));
  for (const id of named) {
    if (id === options.ignore || id === guild.ownerId) continue;
    const own = (overwrites: readonly OverwriteFacts[]) =>
      overwrites.find((o) => o.type === 'member' && o.id === id);
    const decided = (overwrites: readonly OverwriteFacts[]) => {
      const overwrite = own(overwrites);
      if ((overwrite?.allow ?? 0n) & VIEW) return true;
      if ((overwrite?.deny ?? 0n) & VIEW) return false;
      return undefined;
    };
    const mayViewFrom = decided(from) ?? someoneViews(guild, from);
    const surelyViewsTo = decided(to) ?? everyoneViews(guild, to);
    if (mayViewFrom && !surelyViewsTo) return false;
  }
  return true;
}
