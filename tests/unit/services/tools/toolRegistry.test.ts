import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sameJson } from '../../../../src/services/tools/runToolTests.ts';
import { ToolFolder } from '../../../../src/services/tools/toolFolder.ts';
import {
  type ToolManifest,
  ToolNameTaken,
  ToolRegistry,
  toToolName,
} from '../../../../src/services/tools/toolRegistry.ts';
import { ToolRows } from '../../../../src/services/tools/toolRows.ts';
import { regexKeywordIn } from '../../../../src/services/tools/toolSchema.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const manifest = (name: string): Omit<ToolManifest, 'version' | 'codeSha256'> => ({
  name,
  description: 'Adds two numbers.',
  spec: 'add a and b',
  entry: 'run',
  inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
  tests: [{ input: { a: 1, b: 2 }, expected: 3, heldOut: false, passed: true, actual: 3 }],
  attempts: [],
  rounds: 1,
  model: 'brick-test',
  codexVersion: 1,
  createdAt: '2026-11-25T00:00:00.000Z',
  requestedBy: 'BRICK',
});

/** A registry over a place of its own, and how to open another process's registry over the same place. */
interface Shelf {
  name: string;
  open(): Promise<{ registry: ToolRegistry; again(): Promise<ToolRegistry> }>;
}

const backends = useStoreBackends();
const shelves: Shelf[] = [
  {
    name: 'a folder',
    async open() {
      const dir = folders.folder();
      return { registry: new ToolRegistry(dir), again: async () => new ToolRegistry(dir) };
    },
  },
  ...backends.map((backend) => ({
    name: `rows on ${backend.name}`,
    async open() {
      const location = await backend.location(folders.folder());
      const again = async () => new ToolRegistry(await ToolRows.open(location));
      return { registry: await again(), again };
    },
  })),
];

describe.each(shelves)('the tool registry in $name', (shelf) => {
  it('stores code and manifest per version, and reads them back after a restart', async () => {
    const { registry, again } = await shelf.open();
    const stored = await registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    expect(stored.manifest).toMatchObject({ name: 'add', version: 1, tests: [{ passed: true }] });
    const restarted = await again();
    expect(restarted.get('add')?.code).toContain('i.a + i.b');
    expect(restarted.get('add')?.manifest).toEqual(stored.manifest);
    await Promise.all([registry.close(), restarted.close()]);
  });

  it('makes a new version on a name collision, never an overwrite', async () => {
    const { registry } = await shelf.open();
    await registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    const second = await registry.register(manifest('add'), 'function run(i) { return i.b + i.a; }');
    expect(second.manifest.version).toBe(2);
    expect(registry.versions('add')).toEqual([1, 2]);
    expect(registry.get('add', 1)?.code).toContain('i.a + i.b');
    expect(registry.get('add')?.manifest.version).toBe(2);
    await registry.close();
  });

  it('archives a removed tool instead of deleting it, and a new one of its name starts over', async () => {
    const { registry, again } = await shelf.open();
    await registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    expect(await registry.remove('add', new Date('2026-11-25T10:00:00Z'))).toBeDefined();
    expect(registry.get('add')).toBeUndefined();
    const restarted = await again();
    expect(restarted.list()).toEqual([]);
    expect(await registry.remove('add')).toBeUndefined();
    expect((await restarted.register(manifest('add'), 'function run() { return 1; }')).manifest.version).toBe(
      1,
    );
    await Promise.all([registry.close(), restarted.close()]);
  });

  it('keeps a name for its owner: a version of someone else’s makes it not theirs', async () => {
    const { registry } = await shelf.open();
    await registry.register(
      { ...manifest('add'), forgedFor: '111111111111111111' },
      'function run() { return 1; }',
    );
    expect(registry.ownedBy('add', '111111111111111111')).toBe(true);
    expect(registry.ownedBy('add', '222222222222222222')).toBe(false);
    await registry.close();
  });
});

describe('the tool registry in a folder', () => {
  it('keeps a readable folder per version', async () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    await registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    expect(readFileSync(join(dir, 'add', 'v1', 'tool.js'), 'utf8')).toContain('i.a + i.b');
    expect(JSON.parse(readFileSync(join(dir, 'add', 'v1', 'manifest.json'), 'utf8'))).toMatchObject({
      name: 'add',
      version: 1,
      tests: [{ passed: true }],
    });
    const archived = await registry.remove('add', new Date('2026-11-25T10:00:00Z'));
    expect(existsSync(join(dir, 'add'))).toBe(false);
    expect(readdirSync(join(dir, '.archive'))).toEqual(['add-2026-11-25T10-00-00-000Z']);
    expect(registry.archiveNote(archived ?? '')).toBe(
      'Its files are archived in `.archive/add-2026-11-25T10-00-00-000Z` under the forge folder.',
    );
  });

  it('skips a version whose manifest is damaged and falls back to the newest readable one', async () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    await registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    await registry.register(manifest('add'), 'function run(i) { return 0; }');
    writeFileSync(join(dir, 'add', 'v2', 'manifest.json'), '{ not json');
    expect(new ToolRegistry(dir).list().map((t) => `${t.manifest.name}@${t.manifest.version}`)).toEqual([
      'add@1',
    ]);
  });
});

describe.each(backends)('the tool registry in rows on $name, shared by processes', (backend) => {
  it('shows one process the tools another forged or removed, at its next look', async () => {
    const location = await backend.location(folders.folder());
    const [one, two] = [
      new ToolRegistry(await ToolRows.open(location)),
      new ToolRegistry(await ToolRows.open(location)),
    ];
    await one.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    expect(two.get('add')).toBeUndefined();
    await two.refresh();
    expect(two.get('add')?.code).toContain('i.a + i.b');
    await two.register(manifest('add'), 'function run(i) { return i.b + i.a; }');
    await two.register(manifest('sub'), 'function run(i) { return i.a - i.b; }');
    await one.refresh();
    expect(one.list().map((t) => `${t.manifest.name}@${t.manifest.version}`)).toEqual(['add@2', 'sub@1']);
    await one.remove('add');
    await two.refresh();
    expect(two.list().map((t) => t.manifest.name)).toEqual(['sub']);
    await Promise.all([one.close(), two.close()]);
  });

  it('never gives two processes forging one name at once the same version', async () => {
    const location = await backend.location(folders.folder());
    const registries = await Promise.all(
      [1, 2, 3].map(async () => new ToolRegistry(await ToolRows.open(location))),
    );
    const stored = await Promise.all(
      registries.flatMap((registry, r) =>
        [1, 2, 3].map((n) => registry.register(manifest('add'), `function run() { return ${r * 10 + n}; }`)),
      ),
    );
    expect(stored.map((tool) => tool.manifest.version).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    await registries[0]!.refresh();
    expect(registries[0]!.versions('add')).toHaveLength(9);
    await Promise.all(registries.map((registry) => registry.close()));
  });

  it('refuses a name another owner’s process took since its last look: it never becomes their version', async () => {
    const location = await backend.location(folders.folder());
    const [one, two] = [
      new ToolRegistry(await ToolRows.open(location)),
      new ToolRegistry(await ToolRows.open(location)),
    ];
    const forgedFor = (member: string) => ({ ...manifest('mailer'), forgedFor: member });
    await one.register(forgedFor('111111111111111111'), 'function run() { return 1; }');
    // Two has not looked since: the name seemed free to its forge.
    await expect(
      two.register(forgedFor('222222222222222222'), 'function run() { return 2; }'),
    ).rejects.toBeInstanceOf(ToolNameTaken);
    // The owner's own next version is written as ever.
    const again = await two.register(forgedFor('111111111111111111'), 'function run() { return 3; }');
    expect(again.manifest.version).toBe(2);
    await one.refresh();
    expect(one.get('mailer')?.code).toContain('return 3');
    await Promise.all([one.close(), two.close()]);
  });

  it('takes in the forge folder’s tools the first time, and only then', async () => {
    const forgeDir = folders.folder();
    const folder = new ToolRegistry(forgeDir);
    await folder.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    await folder.register(manifest('add'), 'function run(i) { return i.b + i.a; }');
    const location = await backend.location(folders.folder());
    const importFrom = new ToolFolder(forgeDir);
    const first = new ToolRegistry(await ToolRows.open(location, { importFrom }));
    expect(first.versions('add')).toEqual([1, 2]);
    expect(first.get('add', 1)?.manifest).toEqual(folder.get('add', 1)?.manifest);
    await first.remove('add');
    await first.close();
    const later = new ToolRegistry(await ToolRows.open(location, { importFrom }));
    expect(later.list()).toEqual([]);
    await later.close();
  });
});

describe('tool names and results', () => {
  it.each([
    ['Word Count', 'word_count'],
    ['celsiusToFahrenheit', 'celsius_to_fahrenheit'],
    ['  2nd-tool!', 'nd_tool'],
    ['x', 'tool_x'],
  ])('makes %j into %j', (raw, name) => {
    expect(toToolName(raw)).toBe(name);
  });

  it('compares results as JSON, with slack for floating point', () => {
    expect(sameJson({ a: [1, 0.1 + 0.2] }, { a: [1, 0.3] })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson(null, {})).toBe(false);
  });

  it('finds regular expressions in a schema (they would run on the bot’s thread), not property names', () => {
    expect(
      regexKeywordIn({ type: 'object', properties: { text: { type: 'string', pattern: '^(a+)+$' } } }),
    ).toBe('input_schema.properties.text.pattern');
    expect(regexKeywordIn({ type: 'object', patternProperties: { '^x': {} } })).toBe(
      'input_schema.patternProperties',
    );
    expect(regexKeywordIn({ type: 'object', properties: { pattern: { type: 'string' } } })).toBeNull();
  });
});
