import { createServer } from 'node:net';
import { TEST_MODELS } from './fixtures.ts';
import type { OllamaEmulator } from './ollamaEmulator.ts';

export interface RoundScript {
  plan?: string;
  thesis?: string;
  antithesis?: string;
  dissonance?: string;
  answer: string;
}

/** Scripts one converging round: ALFRED's plan, BRICK's thesis, ROBIN's antithesis, ALFRED's answer. */
export function scriptRound(emulator: OllamaEmulator, round: RoundScript): void {
  emulator
    .script(TEST_MODELS.ALFRED, [round.plan ?? 'plan', round.answer])
    .script(TEST_MODELS.BRICK, [round.thesis ?? 'thesis'])
    .script(TEST_MODELS.ROBIN, [`${round.antithesis ?? 'ok'}\nDISSONANCE: ${round.dissonance ?? '0.1'}`]);
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
