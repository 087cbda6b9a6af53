import { afterEach, describe, expect, it } from 'vitest';
import { FinetuneStore, type ModelVersion } from '../../../../src/services/finetune/finetuneStore.ts';
import type { ModelRegistrar, RegistrationRequest } from '../../../../src/services/finetune/registrar.ts';
import { followPointer, restoreActive } from '../../../../src/services/finetune/serving.ts';
import type { LlmProvider } from '../../../../src/services/llm/chatModel.ts';
import { createLogger, createSilentLogger } from '../../../../src/services/logger.ts';
import type { Persona, PersonaRegistry } from '../../../../src/services/personas.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
let store: FinetuneStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  folders.cleanup();
});

/** A registrar that records what it is asked (a runtime-adapter server's), each call after `prefix`. */
function recordingRegistrar(calls: string[] = [], prefix = '') {
  const registrar: ModelRegistrar = {
    prepare: async () => ({ export: 'adapter', note: '' }),
    register: async (request: RegistrationRequest) => {
      calls.push(`${prefix}load ${request.name} from ${request.adapterDir}`);
      return {
        path: 'runtime-lora',
        model: request.name,
        bytes: 0,
        uploaded: 0,
        reused: 0,
        summary: 'loaded',
      };
    },
    retire: async (model) => {
      calls.push(`${prefix}unload ${model}`);
    },
    unload: async () => {},
  };
  return { calls, registrar };
}

const version = (n: number, change: Partial<ModelVersion> = {}): ModelVersion => ({
  persona: 'BRICK',
  version: n,
  model: `batos-brick-v${n}`,
  base: 'meta-llama/Llama-3.1-8B-Instruct',
  fromModel: 'llama-3.1-8b',
  jobId: `ft${n}`,
  datasetHash: 'h',
  samples: 10,
  createdAt: n,
  provider: 'openai',
  path: 'runtime-lora',
  adapterDir: `/data/finetune/ft${n}/adapter`,
  ...change,
});

describe('what the servers do when the pointer moves', () => {
  it('loads again the runtime adapter in force at start; leaves versions the server keeps alone', async () => {
    store = await FinetuneStore.open({ dataDir: folders.folder() });
    const { calls, registrar } = recordingRegistrar();
    await store.addVersion(version(1));
    await store.activate({ persona: 'BRICK', version: 1, model: 'batos-brick-v1', since: 1, by: 'system' });
    // ROBIN's version lives in Ollama, which keeps it: nothing to do.
    await store.addVersion(
      version(1, { persona: 'ROBIN', model: 'batos-robin-v1', provider: 'ollama', path: 'merged' }),
    );
    await store.activate({ persona: 'ROBIN', version: 1, model: 'batos-robin-v1', since: 1, by: 'system' });
    await restoreActive({ registrars: { openai: registrar }, store, log: createSilentLogger() }, [
      'ALFRED',
      'BRICK',
      'ROBIN',
    ]);
    expect(calls).toEqual(['load batos-brick-v1 from /data/finetune/ft1/adapter']);
  });

  it('unloads the version a rollback leaves and loads the one it enters', async () => {
    store = await FinetuneStore.open({ dataDir: folders.folder() });
    const { calls, registrar } = recordingRegistrar();
    await store.addVersion(version(1));
    await store.addVersion(version(2));
    const deps = { registrars: { openai: registrar }, store, log: createSilentLogger() };
    await followPointer(deps, 'BRICK', 2, 1);
    expect(calls).toEqual(['load batos-brick-v1 from /data/finetune/ft1/adapter', 'unload batos-brick-v2']);
    calls.length = 0;
    // Back to the codex's own model (version 0): only the unload.
    await followPointer(deps, 'BRICK', 1, 0);
    expect(calls).toEqual(['unload batos-brick-v1']);
  });

  it('logs a server that fails to follow, and goes on', async () => {
    store = await FinetuneStore.open({ dataDir: folders.folder() });
    await store.addVersion(version(1));
    // The log as records, read back by message.
    const records: Array<{ msg: string }> = [];
    const log = createLogger({
      level: 'info',
      destination: { write: (line: string) => records.push(JSON.parse(line)) },
    });
    const failing: ModelRegistrar = {
      ...recordingRegistrar().registrar,
      retire: async () => {
        throw new Error('server gone');
      },
    };
    await followPointer({ registrars: { openai: failing }, store, log }, 'BRICK', 1, 0);
    expect(records.map((r) => r.msg)).toEqual(['could not unload a version from its server']);
  });
});

describe('what the servers do when the pointer moves, for a persona with several `hosts`', () => {
  const A = 'http://gpu1:8000/v1';
  const B = 'http://gpu2:8000/v1';
  const C = 'http://gpu3:8000/v1';

  /** BRICK, served by vLLM at `hosts`. */
  function brickOn(hosts: string[]): () => PersonaRegistry {
    const brick: Persona = {
      id: 'BRICK',
      displayName: 'BRICK',
      role: 'logic',
      model: 'llama-3.1-8b',
      provider: 'openai',
      hosts,
      temperature: 0,
      options: {},
      avatarUrl: '',
      systemPrompt: 'You are BRICK.',
      principles: [],
    };
    return () => ({
      get: () => brick,
      has: (id) => id === 'BRICK',
      list: () => [brick],
      corePrinciples: [],
      codexVersion: 1,
    });
  }

  /** One recording registrar per host, each call prefixed with its host's name. */
  function hostRegistrars() {
    const calls: string[] = [];
    const made = new Map<string, ModelRegistrar>();
    const registrarAt = (_provider: LlmProvider, address: string) => {
      const registrar = made.get(address) ?? recordingRegistrar(calls, `${address}: `).registrar;
      made.set(address, registrar);
      return registrar;
    };
    return { calls, registrarAt };
  }

  it('loads the version a rollback enters on every host, and unloads the one it leaves from every host', async () => {
    store = await FinetuneStore.open({ dataDir: folders.folder() });
    const { calls, registrarAt } = hostRegistrars();
    await store.addVersion(version(1, { hosts: [A, B] }));
    await store.addVersion(version(2, { hosts: [A, B] }));
    const deps = {
      registrars: {},
      registrarAt,
      personas: brickOn([A, B]),
      providerOf: () => 'openai' as const,
      store,
      log: createSilentLogger(),
    };
    await followPointer(deps, 'BRICK', 2, 1);
    expect(calls).toEqual([
      `${A}: load batos-brick-v1 from /data/finetune/ft1/adapter`,
      `${B}: load batos-brick-v1 from /data/finetune/ft1/adapter`,
      `${A}: unload batos-brick-v2`,
      `${B}: unload batos-brick-v2`,
    ]);
  });

  it('follows the codex: a host added since is loaded at start, a host dropped since is still unloaded', async () => {
    store = await FinetuneStore.open({ dataDir: folders.folder() });
    const { calls, registrarAt } = hostRegistrars();
    await store.addVersion(version(1, { hosts: [A, B] }));
    await store.activate({ persona: 'BRICK', version: 1, model: 'batos-brick-v1', since: 1, by: 'system' });
    // The codex now lists B and C: the version in force must answer on both.
    const deps = {
      registrars: {},
      registrarAt,
      personas: brickOn([B, C]),
      providerOf: () => 'openai' as const,
      store,
      log: createSilentLogger(),
    };
    await restoreActive(deps, ['BRICK']);
    expect(calls).toEqual([
      `${B}: load batos-brick-v1 from /data/finetune/ft1/adapter`,
      `${C}: load batos-brick-v1 from /data/finetune/ft1/adapter`,
    ]);
    calls.length = 0;
    // Back to the codex's model: unloaded wherever it may be held, A included.
    await followPointer(deps, 'BRICK', 1, 0);
    expect(calls).toEqual([
      `${A}: unload batos-brick-v1`,
      `${B}: unload batos-brick-v1`,
      `${C}: unload batos-brick-v1`,
    ]);
  });
});
