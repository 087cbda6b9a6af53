import type { Interaction } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { checkArchitect } from '../../../src/bot/permissions.ts';

/** Just what checkArchitect reads of an interaction (a fake: this is a unit test). */
function interactionIn(guildId: string, memberRoles: string[]): Interaction {
  const roles = new Map([['r-arch', { id: 'r-arch', name: 'architect' }]]);
  const cache = Object.assign(roles, {
    find: (f: (r: { name: string }) => boolean) => [...roles.values()].find(f),
  });
  return {
    guildId,
    guild: { roles: { cache } },
    member: { roles: memberRoles },
    inGuild: () => true,
  } as unknown as Interaction;
}

describe('checkArchitect', () => {
  it('grants the role by name or id in the home server', () => {
    expect(
      checkArchitect(interactionIn('home', ['r-arch']), { role: 'architect', homeGuildId: 'home' }),
    ).toEqual({
      ok: true,
    });
    expect(checkArchitect(interactionIn('home', ['r-arch']), { role: 'r-arch' })).toEqual({ ok: true });
  });

  it('refuses a member without the role', () => {
    expect(checkArchitect(interactionIn('home', []), { role: 'architect' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Only members with the \*\*architect\*\* role/),
    });
  });

  it('refuses an "architect" role in another server the bot was added to', () => {
    expect(
      checkArchitect(interactionIn('elsewhere', ['r-arch']), { role: 'architect', homeGuildId: 'home' }),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/only in the bot's home server/),
    });
  });
});
