import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProblem } from '../../scripts/buildCheck.mjs';
import { STREAM_CURSOR } from '../../src/bot/posting/turnStream.ts';
import { useEmulators } from '../support/emulators.ts';
import { REPO_ROOT, tempDir } from '../support/fixtures.ts';
import { scriptRound } from '../support/scripts.ts';

// The other end-to-end suites run the entries from the sources through tsx, so that they test
// the tree as it is whatever state dist/ is in. This one runs what `npm start` runs: the compiled
// build, with plain node. After `npm ci` (CI) dist/ is already current; in a working copy whose
// sources changed since the last build, the suite builds it first.

/** An npm script's command line, as npm would run it (`node …` → this node). */
function scriptCommand(script: string, args: string[] = []): [string, string[]] {
  const scripts = (
    JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const [program, ...rest] = (scripts[script] ?? '').split(/\s+/);
  expect(program).toBe('node');
  return [process.execPath, [...rest, ...args]];
}

beforeAll(() => {
  if (!buildProblem(REPO_ROOT)) return;
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(built.status, built.stdout + built.stderr).toBe(0);
}, 180_000);

describe('npm start (the compiled build)', () => {
  const emulators = useEmulators({ per: 'file' });
  let child: ChildProcess | undefined;
  // Hooks after a test run last-registered first: the bot is gone before its emulators close.
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('connects, answers a mention in a thread, and stops cleanly on SIGTERM', async () => {
    const { discord, ollama } = emulators;
    const [file, args] = scriptCommand('start');
    child = spawn(file, args, {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        ...emulators.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child?.on('close', resolve));
    await discord.waitFor(() => output.includes('connected to Discord') || undefined, 20_000);
    scriptRound(ollama, { answer: 'compiled answer' });
    const user = discord.createUser('bob');
    const message = discord.userSays(user, discord.channelId, 'Hello there', { mentionBot: true });
    const posts = await discord.waitFor(() => {
      const found = discord.messages(message.id).filter((m) => m.webhook_id);
      // Turns stream (the default): the last one is done once its cursor is gone.
      return found.length >= 4 && !found.at(-1)?.content.endsWith(STREAM_CURSOR) ? found : undefined;
    }, 15_000);
    expect(posts.at(-1)?.content).toBe('compiled answer');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('stopped cleanly');
  });
});

describe('the container’s launch (the Dockerfile’s CMD)', () => {
  /** `node scripts/launch.mjs [flag] dist/src/app/main.js` without a token: its exit code and words. */
  const start = (flags: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['scripts/launch.mjs', ...flags, 'dist/src/app/main.js'],
        { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', DISCORD_TOKEN: '' }, timeout: 20_000 },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });

  it('stays down on a configuration error: exit 0 after the message, where `npm start` exits 2', async () => {
    const plain = await start([]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('DISCORD_TOKEN is not set');

    const container = await start(['--config-error-exit-0']);
    expect(container.code).toBe(0);
    expect(container.stderr).toContain('DISCORD_TOKEN is not set');
    expect(container.stderr).toContain('A configuration error: not restarting until it is fixed');
  });
});

describe('npm run tool (the compiled build)', () => {
  it('finds the sandbox worker in dist/ and runs a tool in it', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'double.js');
      writeFileSync(file, 'function run(i) { return { doubled: i.n * 2 }; }');
      const [program, args] = scriptCommand('tool', [file, '{"n": 21}']);
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          program,
          args,
          {
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH ?? '', FORGE_DIR: join(dir.path, 'tools'), DATA_DIR: dir.path },
            timeout: 20_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toEqual({ doubled: 42 });
    } finally {
      dir.cleanup();
    }
  });
});
