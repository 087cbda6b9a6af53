import { afterEach, describe, expect, it } from 'vitest';
import { FinetuneStore, type ModelVersion } from '../../../../src/services/finetune/finetuneStore.ts';
import type { ModelRegistrar, RegistrationRequest } from '../../../../src/services/finetune/registrar.ts';
import { followPointer, restoreActive } from '../../../../src/services/finetune/serving.ts';
import { createLogger, createSilentLogger } from '../../../../src/services/logger.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
let store: FinetuneStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  folders.cleanup();
});

/** A registrar that records what it is asked (a runtime-adapter server's). */
function recordingRegistrar() {
  const calls: string[] = [];
  const registrar: ModelRegistrar = {
    prepare: async () => ({ export: 'adapter', note: '' }),
    register: async (request: RegistrationRequest) => {
      calls.push(`load ${request.name} from ${request.adapterDir}`);
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
      calls.push(`unload ${model}`);
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
