import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { DiscordEmulator, type DiscordEmulatorOptions } from './discordEmulator.ts';
import { EMBED_MODEL, emulatorEnv, TEST_MODELS, tempDir } from './fixtures.ts';
import { OllamaEmulator } from './ollamaEmulator.ts';

/** The Discord and Ollama emulators on 127.0.0.1, and a folder for a bot's data, tools and codex. */
export interface Emulators {
  discord: DiscordEmulator;
  /** Serves the test persona models and the embedding model. */
  ollama: OllamaEmulator;
  /** The bot's folder: `data/`, `tools/` and the test codex are in it. Removed on close. */
  dir: string;
  /** The settings that point a bot at both emulators and at `dir` (see `emulatorEnv`). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startEmulators(discordOptions: DiscordEmulatorOptions = {}): Promise<Emulators> {
  const ollama = await OllamaEmulator.start({ models: [...Object.values(TEST_MODELS), EMBED_MODEL] });
  const discord = await DiscordEmulator.start(discordOptions);
  const dir = tempDir();
  return {
    discord,
    ollama,
    dir: dir.path,
    env: emulatorEnv(discord, ollama, dir.path),
    async close() {
      await discord.close();
      await ollama.close();
      dir.cleanup();
    },
  };
}

/**
 * Emulators for the suites that run the bot as a child process: fresh ones for each test
 * (`per: 'test'`) or one pair for the file or `describe` block it is called in (`per: 'file'`),
 * started and closed by the hooks this registers. The handle's fields are read inside tests.
 */
export function useEmulators(
  options: { per: 'test' | 'file'; discord?: DiscordEmulatorOptions } = { per: 'test' },
): Readonly<Omit<Emulators, 'close'>> {
  let current: Emulators | undefined;
  const started = () => {
    if (!current) throw new Error('the emulators are started by a hook: read them inside a test');
    return current;
  };
  const [before, after] = options.per === 'file' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    current = await startEmulators(options.discord);
  });
  after(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get discord() {
      return started().discord;
    },
    get ollama() {
      return started().ollama;
    },
    get dir() {
      return started().dir;
    },
    get env() {
      return started().env;
    },
  };
}
