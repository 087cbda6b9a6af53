import { type ComposeOptions, composeRuntime, type Runtime } from '../../src/app/compose.ts';
import type { DialogueEvent, DialogueRequest } from '../../src/graph/dialogue.ts';
import type { DialogueVisibility } from '../../src/graph/runContext.ts';
import { loadConfig } from '../../src/services/config.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { EMBED_MODEL, FAST_RETRY, TEST_MODELS, tempDir, writeTestCodex } from './fixtures.ts';
import { OllamaEmulator } from './ollamaEmulator.ts';

/** Who asks, and where (a Discord thread's server and parent channel, who can see it), as the bot would say. */
export interface Asker {
  userId?: string;
  guildId?: string;
  channelId?: string;
  visibility?: DialogueVisibility;
}

function requestFor(conversationId: string, message: string, asker?: Asker): DialogueRequest {
  if (!asker) return { conversationId, message };
  return {
    conversationId,
    message,
    ...(asker.userId ? { userId: asker.userId } : {}),
    scope: {
      guildId: asker.guildId ?? null,
      channelId: asker.channelId ?? null,
      ...(asker.visibility ? { visibility: asker.visibility } : {}),
    },
  };
}

export interface Harness {
  emulator: OllamaEmulator;
  runtime: Runtime;
  dataDir: string;
  codexPath: string;
  env: Record<string, string>;
  /** Runs one message to the end and returns every event. */
  talk(conversationId: string, message: string, asker?: Asker): Promise<DialogueEvent[]>;
  /** Builds a second runtime on the same files (a restart, or a program beside it), with more overrides. */
  restart(overrides?: ComposeOptions): Promise<Runtime>;
  close(): Promise<void>;
}

/** The real runtime (real @langchain/ollama, real SQLite) against the Ollama emulator. */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    /** Passed to the composition root (a clock, a fake tool forge). */
    overrides?: ComposeOptions;
    models?: string[];
    embeddingDimension?: number;
    /** Changes the test codex before the runtime reads it. */
    codex?: Parameters<typeof writeTestCodex>[1];
  } = {},
): Promise<Harness> {
  const emulator = await OllamaEmulator.start({
    models: options.models ?? [...Object.values(TEST_MODELS), EMBED_MODEL],
    ...(options.embeddingDimension ? { embeddingDimension: options.embeddingDimension } : {}),
  });
  const dir = tempDir();
  const codexPath = writeTestCodex(dir.path, options.codex);
  const env = {
    OLLAMA_HOST: emulator.url,
    DATA_DIR: `${dir.path}/data`,
    FORGE_DIR: `${dir.path}/tools`,
    CODEX_PATH: codexPath,
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const runtimes: Runtime[] = [];
  const build = async (more: ComposeOptions = {}) => {
    const runtime = await composeRuntime(loadConfig(env), createSilentLogger(), {
      retry: FAST_RETRY,
      ...options.overrides,
      ...more,
    });
    runtimes.push(runtime);
    return runtime;
  };
  const runtime = await build();
  return {
    emulator,
    runtime,
    dataDir: env.DATA_DIR,
    codexPath,
    env,
    async talk(conversationId, message, asker) {
      const events: DialogueEvent[] = [];
      for await (const event of runtime.dialogue.run(requestFor(conversationId, message, asker))) {
        events.push(event);
      }
      return events;
    },
    restart: build,
    async close() {
      for (const r of runtimes) await r.close();
      await emulator.close();
      dir.cleanup();
    },
  };
}

/** The persona turns of a run, as `PERSONA: text` lines. */
export function spoken(events: readonly DialogueEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'turn' ? [`${e.persona}: ${e.text}`] : []));
}
