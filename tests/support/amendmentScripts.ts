import { readFileSync } from 'node:fs';
import type { Runtime } from '../../src/app/compose.ts';
import type { BatEvents } from '../../src/services/eventBus.ts';
import { TEST_MODELS } from './fixtures.ts';
import type { OllamaEmulator } from './ollamaEmulator.ts';

/** A ROBIN principle of the shipped codex, and what the tests' amendment changes it to. */
export const OLD_PRINCIPLE = 'Disagree kindly, and say how much you disagree.';
export const NEW_PRINCIPLE = 'Disagree kindly, and weigh the cost in money as well as in feeling.';

/** ALFRED's answer to a drafting prompt, in the form the loop reads. */
export function draftAnswer(codex: string, title = 'ROBIN weighs costs too'): string {
  return [
    `TITLE: ${title}`,
    'PRINCIPLES:',
    `- ROBIN: "${OLD_PRINCIPLE}" → "${NEW_PRINCIPLE}"`,
    'RATIONALE: Three dialogues ended far apart because ROBIN never weighed the cost.',
    'CONSEQUENCES: ROBIN will name costs; he may sound less gentle.',
    '```toml',
    codex.trim(),
    '```',
  ].join('\n');
}

/** The codex at `path` with the ROBIN principle amended. */
export const amendedCodex = (path: string) =>
  readFileSync(path, 'utf8').replace(OLD_PRINCIPLE, NEW_PRINCIPLE);

/** Scripts one dialogue that ends with ROBIN's dissonance at `dissonance` (one round, MAX_TURNS=1). */
export function scriptDissonantRound(emulator: OllamaEmulator, tag: string, dissonance = 0.9): void {
  emulator
    .script(TEST_MODELS.ALFRED, [`plan ${tag}`, `answer ${tag}`])
    .script(TEST_MODELS.BRICK, [`thesis ${tag}`])
    .script(TEST_MODELS.ROBIN, [`antithesis ${tag}\nDISSONANCE: ${dissonance}`]);
}

/** Resolves with the next event of a type on the runtime's bus. */
export function nextEvent<K extends keyof BatEvents>(runtime: Runtime, type: K, timeoutMs = 10_000) {
  return new Promise<BatEvents[K]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${String(type)} within ${timeoutMs} ms`)), timeoutMs);
    const stop = runtime.bus.subscribe(type, (payload) => {
      clearTimeout(timer);
      stop();
      resolve(payload);
    });
  });
}
