import { afterEach, describe, expect, it } from 'vitest';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, spoken, startHarness } from '../support/harness.ts';
import { type EmulatedRequest, OllamaEmulator } from '../support/ollamaEmulator.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

/** Every persona answers at once, and the dialogue converges in one round. */
const answer = (request: EmulatedRequest) =>
  request.model === ROBIN ? 'agreed\nDISSONANCE: 0.1' : request.model === BRICK ? 'thesis' : 'plan';

/** Two GPU hosts (Ollama emulators) that serve the three personas; `OLLAMA_HOST` keeps the embeddings. */
let gpus: OllamaEmulator[] = [];
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  for (const gpu of gpus) await gpu.close().catch(() => undefined);
  harness = undefined;
  gpus = [];
});

async function startOnTwoHosts(models: { gpu1?: string[]; gpu2?: string[] } = {}) {
  const all = Object.values(TEST_MODELS);
  const gpu1 = await OllamaEmulator.start({ models: models.gpu1 ?? all });
  const gpu2 = await OllamaEmulator.start({ models: models.gpu2 ?? all });
  gpus = [gpu1, gpu2];
  harness = await startHarness({
    codex: (codex) => {
      for (const id of ['ALFRED', 'BRICK', 'ROBIN']) codex.personas[id].hosts = [gpu1.url, gpu2.url];
    },
  });
  return { gpu1, gpu2, harness };
}

/** Resolves once `condition` holds (checked each turn of the event loop), or after `ms` regardless. */
async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return condition();
}

describe("a persona's model servers (`hosts`)", () => {
  it('spreads dialogues running at once over both hosts, one call on each at a time', async () => {
    const { gpu1, gpu2, harness } = await startOnTwoHosts();
    // Each host holds its first answer until the other has a call too: both busy at once. Were
    // every call sent to the first host, its one slot would keep the second call waiting, and the
    // hold would end only by the time limit.
    let together = false;
    const bothAsked = () => gpu1.chats().length > 0 && gpu2.chats().length > 0;
    const holdFirst = () => {
      let first = true;
      return async (request: EmulatedRequest) => {
        if (first) {
          first = false;
          together ||= await until(bothAsked, 5_000);
        }
        return answer(request);
      };
    };
    gpu1.respond(holdFirst());
    gpu2.respond(holdFirst());

    const [first, second] = await Promise.all([
      harness.talk('c1', 'What is the first question?'),
      harness.talk('c2', 'What is the second question?'),
    ]);

    expect(together).toBe(true);
    expect(spoken(first).at(-1)).toBe('ALFRED: plan');
    expect(spoken(second).at(-1)).toBe('ALFRED: plan');
    // The two dialogues' plans went one to each host.
    const asked = (gpu: OllamaEmulator) => JSON.stringify(gpu.chats(ALFRED)[0]?.messages);
    expect([asked(gpu1), asked(gpu2)].map((m) => /first question/.test(m)).sort()).toEqual([false, true]);
    // Every call of both dialogues went to a persona host; none to OLLAMA_HOST, which embeds.
    expect(gpu1.chats().length + gpu2.chats().length).toBe(8);
    expect(harness.emulator.chats()).toHaveLength(0);
  });

  it('goes on to the second host when the first is down, and the dialogue carries on', async () => {
    const { gpu1, gpu2, harness } = await startOnTwoHosts();
    gpu2.respond(answer);
    await gpu1.close();

    const events = await harness.talk('c3', 'Is a hot dog a sandwich?');

    expect(spoken(events).map((line) => line.split(':')[0])).toEqual(['ALFRED', 'BRICK', 'ROBIN', 'ALFRED']);
    expect(gpu2.chats()).toHaveLength(4);
  });

  it('checks at start that every host answers and has each persona’s model', async () => {
    const { gpu1, harness } = await startOnTwoHosts({ gpu2: [ALFRED, ROBIN] });
    await expect(harness.runtime.checkModels()).rejects.toMatchObject({
      code: 'OLLAMA_MODEL_MISSING',
      message: `model ${BRICK} is not pulled: \`ollama pull ${BRICK}\``,
    });
    const down = gpu1.url;
    await gpu1.close();
    await expect(harness.runtime.checkModels()).rejects.toMatchObject({
      code: 'OLLAMA_UNREACHABLE',
      message: expect.stringContaining(`cannot reach Ollama at ${down}`),
    });
  });
});
