import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCommandRegistry, loadCommands } from '../../../../src/bot/interactions/commandRegistry.ts';
import { REPO_ROOT, SHIPPED_COMMANDS } from '../../../support/fixtures.ts';

const execute = async () => undefined;

describe('the command registry', () => {
  it('loads every shipped command from commands/', async () => {
    const registry = await loadCommands(join(REPO_ROOT, 'commands'));
    expect(
      registry
        .list()
        .map((c) => c.data.name)
        .sort(),
    ).toEqual(SHIPPED_COMMANDS);
  });

  it('refuses a module without execute, a bad name and a duplicate, naming the files', () => {
    expect(() =>
      createCommandRegistry([
        { source: 'a.ts', module: { data: { name: 'ok', description: 'fine' }, execute } },
        { source: 'b.ts', module: { data: { name: 'Bad Name', description: 'x' }, execute } },
        { source: 'c.ts', module: { data: { name: 'nothing', description: 'x' } } },
        { source: 'd.ts', module: { data: { name: 'ok', description: 'again' }, execute } },
      ]),
    ).toThrowError(/b\.ts: data\.name[\s\S]*c\.ts: execute[\s\S]*d\.ts: a second command named \/ok/);
  });
});
