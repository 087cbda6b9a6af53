import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_KEYS, loadConfig } from '../../../src/services/config.ts';
import { REPO_ROOT } from '../../support/fixtures.ts';

describe('loadConfig', () => {
  it('applies the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      ollamaHost: 'http://127.0.0.1:11434',
      dataDir: './data',
      codexPath: './codex.toml',
      highDissonance: 0.8,
      convergenceThreshold: 0.3,
      maxTurns: 3,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem at once when several settings are wrong', () => {
    const attempt = () => loadConfig({ MAX_TURNS: 'many', HIGH_DISSONANCE: '3', LOG_LEVEL: 'loud' });
    expect(attempt).toThrowError(/MAX_TURNS[\s\S]*HIGH_DISSONANCE[\s\S]*LOG_LEVEL/);
    expect(attempt).toThrowError(/got "many"/);
  });

  it('refuses a bad cron expression at start, naming the setting and the field', () => {
    expect(() => loadConfig({ AUTONOMY_CRON: '61 * * * *' })).toThrowError(
      /AUTONOMY_CRON: "61 \* \* \* \*" is not a valid cron expression \(minute "61"/,
    );
    expect(() => loadConfig({ AUTONOMY_CRON: 'every hour' })).toThrowError(
      /AUTONOMY_CRON: .*not a valid cron/,
    );
    expect(loadConfig({ AUTONOMY_CRON: '0 */3 * * *' }).autonomyCron).toBe('0 */3 * * *');
    expect(() => loadConfig({ CURATION_CRON: '0 25 * * *' })).toThrowError(
      /CURATION_CRON: "0 25 \* \* \*" is not a valid cron expression \(hour "25"/,
    );
    expect(loadConfig({}).curationCron).toBe('0 * * * *');
  });

  it('reads durations and flags', () => {
    expect(loadConfig({ AMENDMENT_WINDOW: '90m' }).amendmentWindowMs).toBe(90 * 60_000);
    expect(loadConfig({}).amendmentWindowMs).toBe(24 * 3_600_000);
    expect(() => loadConfig({ AMENDMENT_WINDOW: 'a day' })).toThrowError(
      /AMENDMENT_WINDOW: expected a duration/,
    );
    expect(loadConfig({ FORGE_OPEN_TO_ALL: 'TRUE' }).forgeOpenToAll).toBe(true);
    expect(() => loadConfig({ FORGE_OPEN_TO_ALL: 'maybe' })).toThrowError(
      /FORGE_OPEN_TO_ALL: expected true or false/,
    );
  });

  it('treats empty values as unset, as a fresh .env has them', () => {
    expect(loadConfig({ MAX_TURNS: '', OLLAMA_HOST: '  ' }).maxTurns).toBe(3);
  });

  it('reads the embedding model from EMBED_MODEL, or from its older name OLLAMA_EMBED_MODEL', () => {
    expect(loadConfig({}).embedModel).toBe('nomic-embed-text');
    expect(loadConfig({ OLLAMA_EMBED_MODEL: 'mxbai-embed-large' }).embedModel).toBe('mxbai-embed-large');
    expect(loadConfig({ EMBED_MODEL: 'bge-m3', OLLAMA_EMBED_MODEL: 'mxbai-embed-large' }).embedModel).toBe(
      'bge-m3',
    );
  });

  it('reads the fine-tune server settings: OLLAMA_VERSION, FINETUNE_QUANTIZE, FINETUNE_SHARED_DIR', () => {
    expect(loadConfig({})).toMatchObject({
      ollamaVersion: undefined,
      finetuneQuantize: 'q4_K_M',
      finetuneSharedDir: undefined,
    });
    expect(
      loadConfig({ OLLAMA_VERSION: 'v0.33.2', FINETUNE_QUANTIZE: 'none', FINETUNE_SHARED_DIR: '/mnt/ft' }),
    ).toMatchObject({ ollamaVersion: 'v0.33.2', finetuneQuantize: 'none', finetuneSharedDir: '/mnt/ft' });
    expect(() => loadConfig({ OLLAMA_VERSION: 'latest', FINETUNE_QUANTIZE: 'q3' })).toThrowError(
      /OLLAMA_VERSION: expected a version such as 0\.34\.1[\s\S]*FINETUNE_QUANTIZE/,
    );
  });

  it('leaves the log format to the logger unless LOG_FORMAT forces json or pretty', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrowError(/LOG_FORMAT/);
  });

  it("accepts OLLAMA_HOST in Ollama's own forms", () => {
    expect(loadConfig({ OLLAMA_HOST: '0.0.0.0' }).ollamaHost).toBe('http://0.0.0.0:11434');
    expect(loadConfig({ OLLAMA_HOST: 'gpu-box:8080' }).ollamaHost).toBe('http://gpu-box:8080');
    expect(loadConfig({ OLLAMA_HOST: 'https://ollama.example.com/' }).ollamaHost).toBe(
      'https://ollama.example.com',
    );
  });

  it('runs one process with every shard unless SHARD_COUNT and SHARDS say otherwise', () => {
    expect(loadConfig({})).toMatchObject({ shardCount: 1, shards: undefined, discordRestProxy: undefined });
    const db = { DATABASE_URL: 'postgres://bat:os@db:5432/bat' };
    expect(loadConfig({ ...db, SHARD_COUNT: '4', SHARDS: '0,2' }).shards).toEqual([0, 2]);
    // discord.js's own form (the manager gives each process `SHARDS=<id>`), spaces and ranges too.
    expect(loadConfig({ ...db, SHARD_COUNT: '4', SHARDS: '[3, 1]' }).shards).toEqual([1, 3]);
    expect(loadConfig({ ...db, SHARD_COUNT: '8', SHARDS: '0-2 6' }).shards).toEqual([0, 1, 2, 6]);
    expect(() => loadConfig({ ...db, SHARD_COUNT: '4', SHARDS: 'first' })).toThrowError(
      /SHARDS: expected shard ids such as 0,2/,
    );
    expect(() => loadConfig({ ...db, SHARD_COUNT: '2', SHARDS: '1,2,5' })).toThrowError(
      /SHARDS: shard ids run from 0 to SHARD_COUNT-1 \(1\); 2, 5 is not one of them/,
    );
  });

  it('refuses several shards without DATABASE_URL, saying why', () => {
    expect(() => loadConfig({ SHARD_COUNT: '2' })).toThrowError(
      /SHARD_COUNT: 2 shards run in several processes, which share the bot's state .* through PostgreSQL: set DATABASE_URL/,
    );
    expect(loadConfig({ SHARD_COUNT: '1', SHARDS: '0' }).shards).toEqual([0]);
  });

  it('points the REST proxy setting at the routes @discordjs/proxy serves under /api', () => {
    expect(loadConfig({ DISCORD_REST_PROXY: 'http://10.0.0.5:8080' }).discordRestProxy).toBe(
      'http://10.0.0.5:8080/api',
    );
    expect(loadConfig({ DISCORD_REST_PROXY: 'http://proxy:8080/api/' }).discordRestProxy).toBe(
      'http://proxy:8080/api',
    );
    expect(loadConfig({})).toMatchObject({ restProxyPort: 8080, restProxyHost: '0.0.0.0' });
    expect(() => loadConfig({ DISCORD_REST_PROXY: 'proxy' })).toThrowError(/DISCORD_REST_PROXY: expected/);
  });

  it('keeps .env.example documenting exactly the settings the schema reads', () => {
    const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(new Set(documented)).toEqual(new Set(ENV_KEYS));
  });

  it("keeps the README's configuration table listing every setting the schema reads", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Discord setup'));
    const listed = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(ENV_KEYS.filter((key) => !listed.includes(key))).toEqual([]);
    expect(listed.filter((key) => !(ENV_KEYS as string[]).includes(key ?? ''))).toEqual([]);
  });

  it('is the only module that reads process.env', async () => {
    const { existsSync, readdirSync, statSync } = await import('node:fs');
    const walk = (dir: string): string[] =>
      (existsSync(dir) ? readdirSync(dir) : []).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
      });
    const readers = [...walk(join(REPO_ROOT, 'src')), ...walk(join(REPO_ROOT, 'commands'))].filter((file) =>
      /process\.env\b/.test(readFileSync(file, 'utf8')),
    );
    expect(readers.map((file) => file.slice(REPO_ROOT.length + 1))).toEqual(['src/services/config.ts']);
  });
});
