import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { REPO_ROOT, tempFolders } from '../support/fixtures.ts';
import { registerTool } from '../support/scripts.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

/** `npm run tool -- …` as a person runs it: a separate process, the exit code and both streams. */
function tool(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/app/cli/runTool.ts', ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function setup() {
  const dir = folders.folder();
  const env = { FORGE_DIR: join(dir, 'tools'), DATA_DIR: join(dir, 'data'), SANDBOX_TIMEOUT_MS: '300' };
  const file = (name: string, code: string) => {
    const path = join(dir, name);
    writeFileSync(path, code);
    return path;
  };
  return { env, file, dir };
}

describe('npm run tool', () => {
  it('runs a file in the sandbox and prints the JSON result', async () => {
    const { env, file } = setup();
    const result = await tool(
      [file('double.js', 'function run(i) { return { doubled: i.n * 2 }; }'), '{"n": 21}'],
      env,
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ doubled: 42 });
  });

  it('prints the error and exits with 1 for a looping tool, a gate refusal and bad input', async () => {
    const { env, file } = setup();
    const loop = await tool([file('loop.js', 'function run() { for (;;) {} }')], env);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/ran past its 300 ms deadline/);

    const sneaky = await tool([file('sneaky.js', "function run() { return require('fs'); }")], env);
    expect(sneaky.code).toBe(1);
    expect(sneaky.stderr).toMatch(/static gate refuses[\s\S]*`require`/);

    const bad = await tool([file('ok.js', 'function run() { return 1; }'), '{nope'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/input is not JSON/);

    const usage = await tool([], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('npm run tool -- --name <tool>');
  });

  it('lists the registered tools, and says so when there are none (creating nothing)', async () => {
    const { env } = setup();
    const none = await tool(['list'], env);
    expect(none).toMatchObject({ code: 0, stderr: '' });
    expect(none.stdout).toBe(
      `No tools registered in ${env.FORGE_DIR} yet: the personas forge them in a dialogue.\n`,
    );
    expect(existsSync(env.FORGE_DIR)).toBe(false);

    const registry = new ToolRegistry(env.FORGE_DIR);
    await registerTool(registry);
    await registerTool(registry, { name: 'letter_count', description: 'Counts letters.', guildId: '42' });
    const listed = await tool(['list'], env);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout.split('\n').filter(Boolean)).toEqual([
      'letter_count  v1  Counts letters. (server 42 only)',
      expect.stringMatching(/^word_count {4}v1 {2}\S/),
      `2 tools in ${env.FORGE_DIR}. Run one: npm run tool -- --name <tool> '<json input>'`,
    ]);
  });

  it('runs a registered tool by name, with its input checked against its schema', async () => {
    const { env } = setup();
    await registerTool(new ToolRegistry(env.FORGE_DIR));
    const ok = await tool(['--name', 'word_count', '{"text": "a b c"}'], env);
    expect(ok).toMatchObject({ code: 0, stdout: '3\n' });

    const invalid = await tool(['--name', 'word_count', '{"words": 1}'], env);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/does not match the schema: input must have required property 'text'/);

    const missing = await tool(['--name', 'nope', '{}'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no tool named "nope" \(known: word_count\)/);
  });
});
