import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sameJson } from '../../../../src/services/tools/runToolTests.ts';
import { type ToolManifest, ToolRegistry, toToolName } from '../../../../src/services/tools/toolRegistry.ts';
import { regexKeywordIn } from '../../../../src/services/tools/toolSchema.ts';
import { tempFolders } from '../../../support/fixtures.ts';

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

describe('the tool registry', () => {
  it('stores code and a readable manifest per version, and reads them back after a restart', () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    const stored = registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    expect(stored.manifest.version).toBe(1);
    expect(readFileSync(join(dir, 'add', 'v1', 'tool.js'), 'utf8')).toContain('i.a + i.b');
    expect(JSON.parse(readFileSync(join(dir, 'add', 'v1', 'manifest.json'), 'utf8'))).toMatchObject({
      name: 'add',
      version: 1,
      tests: [{ passed: true }],
    });
    expect(new ToolRegistry(dir).get('add')?.code).toContain('i.a + i.b');
  });

  it('makes a new version on a name collision, never an overwrite', () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    const second = registry.register(manifest('add'), 'function run(i) { return i.b + i.a; }');
    expect(second.manifest.version).toBe(2);
    expect(registry.versions('add')).toEqual([1, 2]);
    expect(registry.get('add', 1)?.code).toContain('i.a + i.b');
    expect(registry.get('add')?.manifest.version).toBe(2);
  });

  it('archives a removed tool instead of deleting it', () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    const archived = registry.remove('add', new Date('2026-11-25T10:00:00Z'));
    expect(archived).toBeDefined();
    expect(existsSync(join(dir, 'add'))).toBe(false);
    expect(readdirSync(join(dir, '.archive'))).toEqual(['add-2026-11-25T10-00-00-000Z']);
    expect(registry.get('add')).toBeUndefined();
    expect(new ToolRegistry(dir).list()).toEqual([]);
    expect(registry.remove('add')).toBeUndefined();
  });

  it('skips a version whose manifest is damaged and falls back to the newest readable one', () => {
    const dir = folders.folder();
    const registry = new ToolRegistry(dir);
    registry.register(manifest('add'), 'function run(i) { return i.a + i.b; }');
    registry.register(manifest('add'), 'function run(i) { return 0; }');
    writeFileSync(join(dir, 'add', 'v2', 'manifest.json'), '{ not json');
    expect(new ToolRegistry(dir).list().map((t) => `${t.manifest.name}@${t.manifest.version}`)).toEqual([
      'add@1',
    ]);
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
