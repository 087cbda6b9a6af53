import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.ts';
import { ALLOWED, allowedTable, checkImports, importsOf, readTree, tableUnder } from './importGraph.ts';

const tree = readTree(REPO_ROOT);

/** The real tree with `plants` added or replacing files: the checker must object to them. */
const planted = (plants: Record<string, string>) =>
  checkImports(new Map([...tree, ...Object.entries(plants)]));

describe('the house’s import rules', () => {
  it('hold for the whole tree: only allowed arrows, allowed packages, no cycles', () => {
    expect(checkImports(tree)).toEqual([]);
  });

  it('read the imports they check (the checker itself works)', () => {
    const edges = [...tree].flatMap(([path, source]) => importsOf(path, source));
    expect(edges.some((e) => e.from.startsWith('src/graph/') && e.specifier === '@langchain/langgraph')).toBe(
      true,
    );
    expect(edges.some((e) => e.from === 'commands/memory.ts' && e.typeOnly)).toBe(true);
    expect(tree.has('src/app/compose.ts')).toBe(true);
  });

  it('refuse a forbidden arrow: the graph or a service reaching into the bot, a command into the root', () => {
    expect(
      planted({ 'src/graph/leak.ts': "import { NO_MENTIONS } from '../bot/posting/personaPoster.ts';\n" }),
    ).toEqual([expect.objectContaining({ rule: 'forbidden-layer' })]);
    expect(planted({ 'src/services/leak.ts': "import type { Bot } from '../bot/createBot.ts';\n" })).toEqual([
      expect.objectContaining({ rule: 'forbidden-layer' }),
    ]);
    expect(planted({ 'commands/leak.ts': "import { composeApp } from '../src/app/compose.ts';\n" })).toEqual([
      expect.objectContaining({ rule: 'forbidden-layer' }),
    ]);
  });

  it('refuse an unlisted import: values a layer may only know the types of, values outside the kit', () => {
    expect(planted({ 'src/graph/leak.ts': "import { loadConfig } from '../services/config.ts';\n" })).toEqual(
      [expect.objectContaining({ rule: 'types-only' })],
    );
    expect(
      planted({ 'commands/leak.ts': "import { NO_MENTIONS } from '../src/bot/posting/personaPoster.ts';\n" }),
    ).toEqual([expect.objectContaining({ rule: 'not-in-kit' })]);
    expect(planted({ 'src/shared/leak.ts': "import { z } from 'zod';\n" })).toEqual([
      expect.objectContaining({ rule: 'package' }),
    ]);
    expect(planted({ 'src/graph/leak.ts': "import { readFileSync } from 'node:fs';\n" })).toEqual([
      expect.objectContaining({ rule: 'builtin' }),
    ]);
    expect(planted({ 'src/services/leak.ts': "import { Client } from 'discord.js';\n" })).toEqual([
      expect.objectContaining({ rule: 'package' }),
    ]);
    // The bot keeps out of the databases: the stores in the services hold them.
    for (const driver of ['pg', 'keyv', '@keyv/postgres', 'better-sqlite3'])
      expect(
        planted({ 'src/bot/leak.ts': `import x from '${driver}';\nexport default x;\n` }),
        driver,
      ).toEqual([expect.objectContaining({ rule: 'package' })]);
    expect(
      planted({ 'src/elsewhere.ts': "export const x = 1;\nimport { truncate } from './shared/text.ts';\n" }),
    ).toEqual([expect.objectContaining({ rule: 'unplaced' })]);
  });

  it('refuse a cycle of imports, of values or of types alike', () => {
    const cycle = planted({
      'src/services/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/services/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
    });
    expect(cycle).toEqual([
      expect.objectContaining({
        rule: 'cycle',
        message: 'import cycle: src/services/a.ts → src/services/b.ts → src/services/a.ts',
      }),
    ]);
    expect(
      planted({
        'src/services/a.ts': "import type { B } from './b.ts';\nexport type A = B;\n",
        'src/services/b.ts': "import type { A } from './a.ts';\nexport type B = A | 1;\n",
      }),
    ).toEqual([expect.objectContaining({ rule: 'cycle' })]);
  });

  it('leave the environment to the config module alone', () => {
    const readers = [...tree.keys()].filter(
      (path) =>
        path !== 'src/services/config.ts' && /process\.env/.test(readFileSync(join(REPO_ROOT, path), 'utf8')),
    );
    expect(readers).toEqual([]);
  });
});

describe('ARCHITECTURE.md', () => {
  const page = readFileSync(join(REPO_ROOT, 'ARCHITECTURE.md'), 'utf8');

  it('shows the allowed arrows exactly as the checker enforces them', () => {
    expect(tableUnder(page, '## The allowed arrows')).toBe(allowedTable());
  });

  it('names the command kit the checker allows', () => {
    const kit = ALLOWED.commands.bot;
    expect(typeof kit === 'object' && kit.kit.every((file) => page.includes(`\`${file}\``))).toBe(true);
  });

  it('would notice a table that has drifted from the rules', () => {
    const drifted = { ...ALLOWED, graph: { ...ALLOWED.graph, bot: 'types' as const } };
    expect(allowedTable(drifted)).not.toBe(allowedTable());
    expect(
      tableUnder(page.replace('| **graph** | — | — |', '| **graph** | — | types |'), '## The allowed arrows'),
    ).not.toBe(allowedTable());
  });
});
