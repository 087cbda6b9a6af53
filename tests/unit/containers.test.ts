import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_KEYS } from '../../src/services/config.ts';
import { REPO_ROOT } from '../support/fixtures.ts';
import { OLLAMA_EMULATOR_VERSION } from '../support/ollamaEmulator.ts';

/** A Dockerfile as instructions: continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const read = (name: string) => readFileSync(join(REPO_ROOT, name), 'utf8');
const KNOWN = new Set<string>(ENV_KEYS);
/** Not ours: what Node reads. */
const NODE_SETTINGS = new Set(['NODE_ENV']);

describe('the Dockerfile', () => {
  const steps = instructions(read('Dockerfile'));
  const stages = steps.filter((s) => s.op === 'FROM');
  const final = steps.slice(steps.lastIndexOf(stages.at(-1) ?? steps[0]!));

  it('builds in stages and runs production dependencies only, compiled, as a non-root user', () => {
    expect(steps.every((s) => /^[A-Z]+$/.test(s.op))).toBe(true);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(steps.some((s) => s.op === 'RUN' && /npm ci --omit=dev/.test(s.args))).toBe(true);
    const user = final.filter((s) => s.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // Native modules are built where the compilers are, for the same Node as the image.
    expect(final.some((s) => s.op === 'RUN' && /npm (ci|install)/.test(s.args))).toBe(false);
    expect(stages.every((s) => /node:20/.test(s.args))).toBe(true);
  });

  it('keeps DATA_DIR on a volume and checks /healthz on METRICS_PORT', () => {
    const env = Object.fromEntries(
      final
        .filter((s) => s.op === 'ENV')
        .flatMap((s) => [...s.args.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]])),
    );
    for (const key of Object.keys(env)) {
      if (!NODE_SETTINGS.has(key)) expect(KNOWN, `${key} is not a setting`).toContain(key);
    }
    expect(final.find((s) => s.op === 'VOLUME')?.args).toContain(env.DATA_DIR);
    const healthcheck = final.find((s) => s.op === 'HEALTHCHECK')?.args ?? '';
    expect(healthcheck).toContain(`127.0.0.1:${env.METRICS_PORT}/healthz`);
    expect(env.METRICS_HOST).toBe('0.0.0.0');
    expect(final.find((s) => s.op === 'CMD')?.args).toContain('dist/src/app/main.js');
  });

  it('leaves what the image must not hold out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/);
    for (const path of ['node_modules', '.env', 'data', '.git']) expect(ignored).toContain(path);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as {
    services: Record<string, { environment?: Record<string, string>; volumes?: string[]; image?: string }>;
    volumes: Record<string, unknown>;
  };

  it('runs the bot beside Ollama, its data on a volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'ollama']);
    // Pinned to a release, the one the tests' emulator behaves as: a new Ollama can change what it accepts.
    expect(compose.services.ollama?.image).toBe(`ollama/ollama:${OLLAMA_EMULATOR_VERSION}`);
    const bot = compose.services.bot;
    expect(bot?.environment?.OLLAMA_HOST).toBe('http://ollama:11434');
    const dataVolume = bot?.volumes?.find((v) => v.endsWith(`:${bot.environment?.DATA_DIR}`));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(dataVolume?.split(':')[0]);
  });

  it('passes only settings the config schema reads', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'ollama') continue;
      for (const key of Object.keys(service.environment ?? {})) {
        expect(KNOWN, `${name}: ${key} is not a setting`).toContain(key);
      }
    }
  });

  it('has a GPU override that reserves the GPU for Ollama', () => {
    expect(existsSync(join(REPO_ROOT, 'compose.gpu.yaml'))).toBe(true);
    const gpu = parse(read('compose.gpu.yaml')) as {
      services: Record<string, { deploy?: { resources?: { reservations?: { devices?: unknown[] } } } }>;
    };
    expect(gpu.services.ollama?.deploy?.resources?.reservations?.devices).toEqual([
      { driver: 'nvidia', count: 'all', capabilities: ['gpu'] },
    ]);
  });
});
