import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const REAL_CODEX_PATH = join(REPO_ROOT, 'codex.toml');

/** Distinct model names per persona, so the emulator can script each persona. */
export const TEST_MODELS = {
  ALFRED: 'alfred-test:latest',
  BRICK: 'brick-test:latest',
  ROBIN: 'robin-test:latest',
};

/** The embedding model the runtime asks for by default. */
export const EMBED_MODEL = 'nomic-embed-text:latest';

/** A fresh folder under the OS temp dir; `cleanup` removes it. */
export function tempDir(prefix = 'bat-os-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Temporary folders for one test file: `folder()` makes one, `cleanup()` (in afterEach) removes them all. */
export function tempFolders(): { folder: () => string; cleanup: () => void } {
  const made: Array<{ cleanup(): void }> = [];
  return {
    folder() {
      const dir = tempDir();
      made.push(dir);
      return dir.path;
    },
    cleanup() {
      for (const dir of made.splice(0)) dir.cleanup();
    },
  };
}

/**
 * Writes the shipped codex with test model names (and any edits) into `dir`; returns its path.
 * Starting from the real codex keeps the tests honest about what ships.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary TOML, including into invalid shapes.
type TomlTable = Record<string, any>;

export function writeTestCodex(dir: string, edit?: (codex: TomlTable) => void): string {
  const codex = parse(readFileSync(REAL_CODEX_PATH, 'utf8')) as TomlTable;
  for (const [id, model] of Object.entries(TEST_MODELS)) codex.personas[id].model = model;
  edit?.(codex);
  const path = join(dir, 'codex.toml');
  writeFileSync(path, stringify(codex));
  return path;
}

/**
 * The retry policy the harnesses compose with: as many tries as the product makes, with waits of
 * a millisecond, so a test of a failure does not sit through the real backoff. The backoff's
 * timing itself is proven with a manual clock.
 */
export const FAST_RETRY = { retries: 3, baseMs: 1, maxMs: 1 } as const;

/**
 * The settings that point a bot at the emulators, its data, tools and codex (written now) in
 * `dir`, the architect role counted in the emulator's server as a real deployment would.
 */
export function emulatorEnv(
  discord: { apiUrl: string; token: string; guildId: string },
  ollama: { url: string },
  dir: string,
): Record<string, string> {
  return {
    OLLAMA_HOST: ollama.url,
    DATA_DIR: join(dir, 'data'),
    FORGE_DIR: join(dir, 'tools'),
    CODEX_PATH: writeTestCodex(dir),
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_TOKEN: discord.token,
    DISCORD_GUILD_ID: discord.guildId,
  };
}

/** The slash commands in `commands/`, by name, sorted. */
export const SHIPPED_COMMANDS = [
  'ask',
  'codex',
  'curate',
  'finetune',
  'forge',
  'help',
  'memory',
  'personas',
  'status',
  'tools',
] as const;
