import { describe, expect, it } from 'vitest';
import { type ArchitectFacts, decideArchitect } from '../../../../src/bot/access/architects.ts';

const facts = (over: Partial<ArchitectFacts> = {}): ArchitectFacts => ({
  policy: { role: 'architect', homeGuildId: 'home' },
  guildId: 'home',
  guildRoles: [{ id: 'r-arch', name: 'Architect' }],
  memberRoleIds: ['r-arch'],
  ...over,
});

describe('decideArchitect', () => {
  it('grants the role by name (any case) or by id in the home server', () => {
    expect(decideArchitect(facts())).toEqual({ ok: true });
    expect(decideArchitect(facts({ policy: { role: 'r-arch', homeGuildId: 'home' } }))).toEqual({ ok: true });
  });

  it('refuses a member without the role, and outside servers', () => {
    expect(decideArchitect(facts({ memberRoleIds: [] }))).toMatchObject({
      ok: false,
      code: 'NOT_ARCHITECT',
      reason: expect.stringMatching(/Only members with the \*\*Architect\*\* role/),
    });
    expect(decideArchitect(facts({ guildId: null }))).toMatchObject({ ok: false, code: 'NOT_ARCHITECT' });
    expect(decideArchitect(facts({ memberRoleIds: null }))).toMatchObject({
      ok: false,
      code: 'NOT_ARCHITECT',
    });
  });

  it('fails closed when no home server is known: nobody governs', () => {
    expect(decideArchitect(facts({ policy: { role: 'architect' } }))).toMatchObject({
      ok: false,
      code: 'NO_HOME_SERVER',
      reason: expect.stringMatching(/Governance is off: .*DISCORD_GUILD_ID/),
    });
  });

  it('refuses an "architect" role in another server the bot was added to', () => {
    expect(decideArchitect(facts({ guildId: 'elsewhere' }))).toMatchObject({
      ok: false,
      code: 'NOT_HOME_SERVER',
      reason: expect.stringMatching(/only in the bot's home server/),
    });
  });
});
