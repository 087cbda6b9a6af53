import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodexError, loadCodex, parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import { createPersonaRegistry } from '../../../../src/services/personas.ts';
import { REAL_CODEX_PATH, tempFolders, writeTestCodex } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

async function problemsOf(path: string): Promise<CodexError> {
  try {
    await loadCodex(path);
  } catch (error) {
    if (error instanceof CodexError) return error;
    throw error;
  }
  throw new Error('the codex was accepted');
}

describe('the shipped codex', () => {
  it('loads and defines ALFRED, BRICK and ROBIN with every field the bot needs', async () => {
    const codex = await loadCodex(REAL_CODEX_PATH);
    const personas = createPersonaRegistry(codex);
    for (const id of ['ALFRED', 'BRICK', 'ROBIN']) {
      const persona = personas.get(id);
      expect(persona.displayName).toBeTruthy();
      expect(persona.model).toMatch(/\S/);
      expect(persona.avatarUrl).toMatch(/^https:\/\//);
      expect(persona.systemPrompt.length).toBeGreaterThan(50);
      expect(persona.principles.length).toBeGreaterThan(0);
    }
    expect(personas.corePrinciples.length).toBeGreaterThan(0);
    expect(codex.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('loadCodex', () => {
  it('refuses a codex over 1 MiB unread, naming the file, its size and the limit', async () => {
    const path = join(folder(), 'codex.toml');
    writeFileSync(path, '');
    truncateSync(path, 50 * 1024 * 1024);
    await expect(loadCodex(path)).rejects.toMatchObject({
      code: 'CODEX_TOO_LARGE',
      kind: 'user',
      message: `The codex ${path} is 52 MB (52428800 bytes), over the limit of 1.0 MB (1048576 bytes): it was not read.`,
    });
  });

  it('names the file, line and column of a TOML syntax error', async () => {
    const path = join(folder(), 'codex.toml');
    writeFileSync(path, 'version = 1\n[core]\nprinciples = ["a",\n  oops\n');
    const error = await problemsOf(path);
    expect(error.message).toContain(`${path}:4`);
    expect(error.message).toMatch(/TOML syntax/);
  });

  it('names the key and its line when a value is wrong', async () => {
    const path = writeTestCodex(folder(), (codex) => {
      codex.personas.BRICK.temperature = 'hot';
    });
    const error = await problemsOf(path);
    const problem = error.problems.find((p) => p.key === 'personas.BRICK.temperature');
    expect(problem?.message).toMatch(/number/);
    const source = readFileSync(path, 'utf8').split('\n');
    expect(source[(problem?.line ?? 0) - 1]).toMatch(/^temperature = "hot"/);
    expect(error.message).toContain(`${path}:${problem?.line} personas.BRICK.temperature`);
  });

  it('reports every problem, not only the first', async () => {
    const path = writeTestCodex(folder(), (codex) => {
      delete codex.personas.ROBIN;
      codex.personas.ALFRED.avatar_url = 'not a url';
      codex.personas.ALFRED.colour = 'blue';
    });
    const error = await problemsOf(path);
    expect(error.message).toMatch(/\[personas\.ROBIN\]/);
    expect(error.message).toMatch(/personas\.ALFRED\.avatar_url/);
    expect(error.message).toMatch(/unknown key "colour"/);
  });

  it('refuses a display name Discord would refuse', () => {
    const source = writeTestCodex(folder(), (c) => {
      c.personas.ROBIN.display_name = 'Discord Robin';
    });
    return expect(loadCodex(source)).rejects.toThrow(/clyde|discord/i);
  });

  it("takes a persona's model servers (`hosts`) in the order listed", () => {
    const hosts = ['http://gpu1:11434', 'http://gpu2:11434'];
    const path = writeTestCodex(folder(), (codex) => {
      codex.personas.ROBIN.hosts = hosts;
    });
    const registry = createPersonaRegistry(parseCodex(readFileSync(path, 'utf8'), path));
    expect(registry.get('ROBIN').hosts).toEqual(hosts);
    expect(registry.get('BRICK').hosts).toBeUndefined();
  });

  it('refuses a host that is not an http(s) URL, or one named twice, naming the field', async () => {
    const path = writeTestCodex(folder(), (codex) => {
      codex.personas.ROBIN.hosts = ['http://gpu1:11434', 'gpu2:11434'];
      codex.personas.BRICK.hosts = ['http://gpu1:11434', 'http://gpu1:11434/'];
    });
    const error = await problemsOf(path);
    expect(error.problems.find((p) => p.key === 'personas.ROBIN.hosts.1')?.message).toBe(
      'each of `hosts` is a model server\'s http(s) URL, such as "http://gpu1:11434" (Ollama) or "http://gpu1:8000/v1"',
    );
    expect(error.problems.find((p) => p.key === 'personas.BRICK.hosts')?.message).toBe(
      '`hosts` names a model server twice',
    );
  });

  it('says where to point CODEX_PATH when the file is missing', async () => {
    await expect(loadCodex(join(folder(), 'nope.toml'))).rejects.toThrow(/CODEX_PATH/);
  });

  it('adds a fourth persona to the registry with no code change', () => {
    const path = writeTestCodex(folder(), (codex) => {
      codex.personas.BABS = { ...codex.personas.ROBIN, display_name: 'BABS', role: 'Archivist' };
    });
    const registry = createPersonaRegistry(parseCodex(readFileSync(path, 'utf8'), path));
    expect(registry.list().map((p) => p.id)).toEqual(
      expect.arrayContaining(['ALFRED', 'BRICK', 'ROBIN', 'BABS']),
    );
    expect(registry.get('BABS').role).toBe('Archivist');
  });
});
