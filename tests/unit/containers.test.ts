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
  });

  it('compiles in the image every production dependency that is a node-gyp module', () => {
    // With install scripts skipped, a native module is only built where the Dockerfile rebuilds it.
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    const native = Object.entries(lock.packages)
      .filter(
        ([path, entry]) =>
          entry.hasInstallScript && !entry.dev && existsSync(join(REPO_ROOT, path, 'binding.gyp')),
      )
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(native).toContain('better-sqlite3');
    const rebuilt = steps.find((s) => s.op === 'RUN' && /npm rebuild/.test(s.args))?.args ?? '';
    const named = rebuilt.replace(/^.*npm rebuild\s+/, '').split(/\s+/);
    expect(native.filter((name) => !named.includes(name))).toEqual([]);
  });

  it('runs on Node 24 LTS, pinned to the release .ci/run tests with', () => {
    const tested = /^NODE_24=(\d+\.\d+\.\d+)$/m.exec(read('.ci/run'))?.[1];
    expect(tested).toMatch(/^24\./);
    for (const stage of stages) {
      expect(stage.args).toMatch(
        new RegExp(`^node:${tested?.replace(/\./g, '\\.')}-bookworm(-slim)?( AS \\w+)?$`),
      );
    }
    expect(read('.nvmrc').trim()).toBe('24');
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('>=22');
  });

  it('installs the dependencies from the lock file before it copies the sources (a source edit reuses them)', () => {
    const stagesSteps: Array<Array<{ op: string; args: string }>> = [];
    for (const step of steps) {
      if (step.op === 'FROM') stagesSteps.push([]);
      stagesSteps.at(-1)?.push(step);
    }
    for (const stageSteps of stagesSteps) {
      const install = stageSteps.findIndex((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args));
      if (install < 0) continue;
      const copies = stageSteps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
      const before = stageSteps.slice(0, install).filter((s) => s.op === 'COPY');
      expect(before.map((s) => s.args)).toEqual(['package.json package-lock.json ./']);
      expect(copies.every((s) => s.args !== '. .')).toBe(true);
    }
    expect(
      stagesSteps.filter((st) => st.some((s) => s.op === 'RUN' && /\bnpm ci\b/.test(s.args))),
    ).toHaveLength(2);
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

  it('stays down on a configuration error instead of being restarted for it', () => {
    // The launcher turns the entry's exit code 2 into 0 (tests/e2e/build.test.ts runs it).
    expect(final.find((s) => s.op === 'CMD')?.args).toContain(
      'scripts/launch.mjs --config-error-exit-0 dist/src/app/main.js',
    );
  });

  it('leaves what the image must not hold out of the build context', () => {
    const ignored = read('.dockerignore').split(/\r?\n/);
    for (const path of ['node_modules', '.env', 'data', '.git']) expect(ignored).toContain(path);
  });
});

interface Service {
  environment?: Record<string, string>;
  volumes?: string[];
  image?: string;
  build?: string;
  restart?: string;
  command?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
}

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };

  it('runs the bot beside Ollama, its data on a volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['bot', 'models', 'ollama']);
    // Pinned to a release, the one the tests' emulator behaves as: a new Ollama can change what it accepts.
    expect(compose.services.ollama?.image).toBe(`ollama/ollama:${OLLAMA_EMULATOR_VERSION}`);
    const bot = compose.services.bot;
    expect(bot?.environment?.OLLAMA_HOST).toBe('http://ollama:11434');
    const dataVolume = bot?.volumes?.find((v) => v.endsWith(`:${bot.environment?.DATA_DIR}`));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(dataVolume?.split(':')[0]);
  });

  it('pins every image: built from the pinned Dockerfile, or a release tag', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) expect(service.build, name).toBe('.');
      else expect(service.image, name).toMatch(/^[\w./-]+:\d+\.\d+\.\d+$/);
    }
  });

  it('starts the bot once Ollama answers and the codex’s models are pulled', () => {
    const { bot, models, ollama } = compose.services;
    // The image has no curl: the CLI asks the server, and fails while it does not answer.
    expect(ollama?.healthcheck?.test).toEqual(['CMD', 'ollama', 'list']);
    expect(bot?.depends_on).toEqual({
      ollama: { condition: 'service_healthy' },
      models: { condition: 'service_completed_successfully' },
    });
    expect(models?.depends_on).toEqual({ ollama: { condition: 'service_healthy' } });
    expect(models?.restart).toBe('no');
    expect(models?.command?.join(' ')).toContain('scripts/launch.mjs dist/src/app/cli/pullModels.js');
    expect(models?.environment).toEqual(bot?.environment);
    expect(models?.volumes).toEqual(bot?.volumes);
  });

  it('restarts the bot after a crash, not after a configuration error (which exits 0)', () => {
    expect(compose.services.bot?.restart).toBe('on-failure');
  });

  it('says which Compose it needs (the env_file form with `required` came in 2.24)', () => {
    expect(read('compose.yaml')).toMatch(/Docker Compose 2\.24 or newer/);
    expect(read('compose.yaml')).toMatch(/required: false/);
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
