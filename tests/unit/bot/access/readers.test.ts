import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canView,
  everyReaderCanView,
  type GuildFacts,
  type OverwriteFacts,
} from '../../../../src/bot/access/readers.ts';

const VIEW = 1n << 10n;
const ADMIN = 1n << 3n;
const SEND = 1n << 11n;

/** A server: @everyone grants nothing, `member` grants View Channel, as most servers' defaults do. */
const guild = (roles: Record<string, bigint> = {}): GuildFacts => ({
  id: 'g',
  ownerId: 'owner',
  roles: new Map(Object.entries({ g: 0n, member: VIEW, ...roles })),
});
const role = (id: string, bits: { allow?: bigint; deny?: bigint }): OverwriteFacts => ({
  id,
  type: 'role',
  allow: bits.allow ?? 0n,
  deny: bits.deny ?? 0n,
});
const member = (id: string, bits: { allow?: bigint; deny?: bigint }): OverwriteFacts => ({
  ...role(id, bits),
  type: 'member',
});

/** A server of roles `ids` with the permissions drawn for them (@everyone's too). */
const smallServer = (
  ids: readonly string[],
  perms: { everyone: bigint } & Record<string, bigint>,
): GuildFacts => ({
  id: 'g',
  ownerId: 'owner',
  roles: new Map([['g', perms.everyone], ...ids.map((id) => [id, perms[id] ?? 0n] as const)]),
});

/** Every set of roles a member could hold of `ids`. */
const roleSubsets = (ids: readonly string[]) =>
  Array.from({ length: 1 << ids.length }, (_, mask) => ids.filter((_, i) => mask & (1 << i)));

describe('canView, by Discord’s rules', () => {
  it('applies the overwrites of all the member’s roles at once: one role’s allow beats another’s deny', () => {
    const room = [role('member', { deny: VIEW }), role('staff', { allow: VIEW })];
    expect(canView(guild(), room, { roles: ['member'] })).toBe(false);
    expect(canView(guild(), room, { roles: ['member', 'staff'] })).toBe(true);
  });

  it('applies the member’s own overwrite last; the owner and an Administrator see everything', () => {
    const hidden = [role('g', { deny: VIEW }), member('bob', { allow: VIEW }), member('eve', { deny: VIEW })];
    expect(canView(guild(), hidden, { id: 'bob', roles: [] })).toBe(true);
    expect(canView(guild(), [member('eve', { deny: VIEW })], { id: 'eve', roles: ['member'] })).toBe(false);
    expect(canView(guild(), hidden, { id: 'owner', roles: [] })).toBe(true);
    expect(canView(guild({ boss: ADMIN }), hidden, { roles: ['boss'] })).toBe(true);
  });
});

describe('everyReaderCanView', () => {
  // #staff-room: members kept out, staff let in. #board: restricted kept out. Staff have View Channel of their own.
  const staffRoom = [role('member', { deny: VIEW }), role('staff', { allow: VIEW })];
  const board = [role('restricted', { deny: VIEW })];
  const roles = { staff: VIEW, restricted: SEND };

  it('does not share #board with #staff-room: a member with staff and restricted reads one, not the other', () => {
    // Role by role, every role that sees #staff-room sees #board: staff alone sees both.
    expect(canView(guild(roles), staffRoom, { roles: ['staff'] })).toBe(true);
    expect(canView(guild(roles), board, { roles: ['staff'] })).toBe(true);
    // Together, they do not.
    expect(canView(guild(roles), staffRoom, { roles: ['member', 'staff', 'restricted'] })).toBe(true);
    expect(canView(guild(roles), board, { roles: ['member', 'staff', 'restricted'] })).toBe(false);
    expect(everyReaderCanView(guild(roles), staffRoom, board)).toBe(false);
  });

  it('shares a public channel with a restricted one, and not the other way round', () => {
    // @everyone reads the server, as in most servers; #council is for the council.
    const server = guild({ g: VIEW });
    const council = [role('g', { deny: VIEW }), role('council', { allow: VIEW })];
    expect(everyReaderCanView(server, council, [])).toBe(true);
    expect(everyReaderCanView(server, [], council)).toBe(false);
    // Where @everyone reads nothing, a council member without another role reads #council alone.
    expect(everyReaderCanView(guild(), council, [])).toBe(false);
  });

  it('judges a member named in an overwrite by the worst their roles could do: the bot does not see roles change', () => {
    const council = [
      role('g', { deny: VIEW }),
      role('member', { deny: VIEW }),
      member('bob', { allow: VIEW }),
    ];
    // Bob is let into #council by name. Where @everyone reads #general, so does he, whatever his roles.
    expect(everyReaderCanView(guild({ g: VIEW }), council, [])).toBe(true);
    // Where only the member role reads it, he may have lost that role.
    expect(everyReaderCanView(guild(), council, [])).toBe(false);
    // Eve is kept out of #news by name: whoever reads #general may not read it, unless she is kept out of both.
    const eveOut = [member('eve', { deny: VIEW })];
    expect(everyReaderCanView(guild({ g: VIEW }), [], eveOut)).toBe(false);
    expect(everyReaderCanView(guild({ g: VIEW }), eveOut, eveOut)).toBe(true);
    // Nobody but those named reads #council: Eve, not among them, is no reader of it.
    expect(everyReaderCanView(guild({ g: VIEW }), council, eveOut)).toBe(true);
    // The bot itself is no reader to protect.
    expect(everyReaderCanView(guild(), council, [], { ignore: 'bob' })).toBe(true);
  });

  it('agrees with every set of roles a member could hold (brute force over small servers)', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const bits = fc.constantFrom(0n, VIEW, ADMIN, SEND);
    const overwrite = fc.record({ allow: fc.constantFrom(0n, VIEW), deny: fc.constantFrom(0n, VIEW) });
    const overwrites = fc
      .dictionary(fc.constantFrom('g', ...ids), overwrite, { maxKeys: 4 })
      .map((o) => Object.entries(o).map(([id, b]) => role(id, b)));
    fc.assert(
      fc.property(
        fc.record({ everyone: fc.constantFrom(0n, VIEW), a: bits, b: bits, c: bits, d: bits }),
        overwrites,
        overwrites,
        (perms, from, to) => {
          const server = smallServer(ids, perms);
          const subsets = roleSubsets(ids);
          const brute = subsets.every(
            (held) => !canView(server, from, { roles: held }) || canView(server, to, { roles: held }),
          );
          expect(everyReaderCanView(server, from, to)).toBe(brute);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('never shares what a member named in an overwrite could not read, whatever roles they hold', () => {
    const ids = ['a', 'b', 'c'];
    const bits = fc.constantFrom(0n, VIEW, ADMIN);
    const overwrite = fc.record({ allow: fc.constantFrom(0n, VIEW), deny: fc.constantFrom(0n, VIEW) });
    const overwrites = fc
      .tuple(
        fc.dictionary(fc.constantFrom('g', ...ids), overwrite, { maxKeys: 3 }),
        fc.dictionary(fc.constantFrom('m1', 'm2'), overwrite, { maxKeys: 2 }),
      )
      .map(([roles, members]) => [
        ...Object.entries(roles).map(([id, b]) => role(id, b)),
        ...Object.entries(members).map(([id, b]) => member(id, b)),
      ]);
    fc.assert(
      fc.property(
        fc.record({ everyone: fc.constantFrom(0n, VIEW), a: bits, b: bits, c: bits }),
        overwrites,
        overwrites,
        (perms, from, to) => {
          const server = smallServer(ids, perms);
          const subsets = roleSubsets(ids);
          const someoneLeaks = ['m1', 'm2', undefined].some((id) =>
            subsets.some(
              (held) =>
                canView(server, from, { ...(id ? { id } : {}), roles: held }) &&
                !canView(server, to, { ...(id ? { id } : {}), roles: held }),
            ),
          );
          if (someoneLeaks) expect(everyReaderCanView(server, from, to)).toBe(false);
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
