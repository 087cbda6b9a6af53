import { z } from 'zod';

/**
 * The settings of a bot whose gateway runs in several processes: how many shards Discord's
 * gateway is split into, which of them this process runs, and the REST gateway all processes
 * share. A group of the config schema (`config.ts` reads them with the rest).
 */

/** Ids written `0,2`, `0 2`, `[0,2]` (discord.js's own form) or as ranges, `0-3,8`. */
export function parseShardList(text: string): number[] | undefined {
  const parts = text
    .replace(/^\s*\[|\]\s*$/g, '')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (parts.length === 0) return undefined;
  const ids = new Set<number>();
  for (const part of parts) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) return undefined;
    const first = Number(range[1]);
    const last = Number(range[2] ?? range[1]);
    if (last < first || last - first > 65_535) return undefined;
    for (let id = first; id <= last; id++) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * The proxy's address as discord.js's REST `api` wants it: `@discordjs/proxy` serves Discord's
 * routes under `/api`, so `http://proxy:8080` and `http://proxy:8080/api` both mean it.
 */
export function restProxyApi(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/api') ? trimmed : `${trimmed}/api`;
}

export const shardingFields = {
  SHARD_COUNT: z.coerce.number().int().min(1).max(65_535).default(1),
  SHARDS: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const ids = parseShardList(value);
      if (!ids) {
        ctx.addIssue({ code: 'custom', message: 'expected shard ids such as 0,2 (or a range, 0-3)' });
        return z.NEVER;
      }
      return ids;
    }),
  DISCORD_REST_PROXY: z
    .url({ protocol: /^https?$/, error: 'expected the REST proxy as a URL, e.g. http://10.0.0.5:8080' })
    .optional(),
  REST_PROXY_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  REST_PROXY_HOST: z.string().trim().min(1).default('0.0.0.0'),
};

type ShardingEnv = {
  SHARD_COUNT: number;
  SHARDS: number[] | undefined;
  DISCORD_REST_PROXY?: string | undefined;
  REST_PROXY_PORT: number;
  REST_PROXY_HOST: string;
};

export interface ShardingConfig {
  /** Shards the bot's gateway is split into, across all its processes (default 1: one process). */
  readonly shardCount: number;
  /**
   * The shards this process runs (`SHARDS`), ascending. Unset: all of them; with more than one,
   * `npm start` then runs a manager that starts a process for each.
   */
  readonly shards: readonly number[] | undefined;
  /** The REST gateway every process posts through (`@discordjs/proxy`, its `/api`); unset: Discord itself. */
  readonly discordRestProxy: string | undefined;
  /** Where `npm run rest-proxy` listens (default 8080). */
  readonly restProxyPort: number;
  /** The address it listens on (default 0.0.0.0: the shards on other hosts reach it). */
  readonly restProxyHost: string;
}

export function shardingConfig(e: ShardingEnv): ShardingConfig {
  return {
    shardCount: e.SHARD_COUNT,
    shards: e.SHARDS,
    discordRestProxy: e.DISCORD_REST_PROXY ? restProxyApi(e.DISCORD_REST_PROXY) : undefined,
    restProxyPort: e.REST_PROXY_PORT,
    restProxyHost: e.REST_PROXY_HOST,
  };
}

/**
 * What the settings get wrong together (each alone is checked by its field): a shard beyond the
 * count, and several shards without the database that lets their processes share state.
 */
export function shardingProblems(present: Readonly<Record<string, string | undefined>>): string[] {
  const count = present.SHARD_COUNT === undefined ? 1 : Number(present.SHARD_COUNT);
  if (!Number.isInteger(count) || count < 1) return [];
  const problems: string[] = [];
  const beyond = parseShardList(present.SHARDS ?? '')?.filter((id) => id >= count) ?? [];
  if (beyond.length > 0) {
    problems.push(
      `  - SHARDS: shard ids run from 0 to SHARD_COUNT-1 (${count - 1}); ${beyond.join(', ')} is not one of them`,
    );
  }
  if (count > 1 && !present.DATABASE_URL) {
    problems.push(
      `  - SHARD_COUNT: ${count} shards run in several processes, which share the bot's state (threads, memory, jobs) through PostgreSQL: set DATABASE_URL, or SHARD_COUNT=1 for one process with its SQLite files`,
    );
  }
  return problems;
}

/**
 * discord.js's `Client` reads `SHARDS` (as JSON) and `SHARD_COUNT` from the environment wherever
 * its own options are left at their defaults. The bot passes both, but a count of 1 is the
 * default, and `SHARD_COUNT=` (empty: 1 for us) would read as 0 there and stop the client. So the
 * environment is made to say what the config decided, in discord.js's own form.
 */
export function settleShardEnvironment(
  config: Pick<ShardingConfig, 'shardCount' | 'shards'>,
  env: Record<string, string | undefined>,
): void {
  env.SHARD_COUNT = String(config.shardCount);
  env.SHARDS = JSON.stringify(shardsOfThisProcess(config));
}

/** The shards this process's client connects: `SHARDS`, or every one. */
export function shardsOfThisProcess(config: Pick<ShardingConfig, 'shardCount' | 'shards'>): number[] {
  return config.shards ? [...config.shards] : Array.from({ length: config.shardCount }, (_, id) => id);
}

/** Whether `npm start` runs a manager that starts one process per shard (several shards, `SHARDS` unset). */
export function managesShards(config: Pick<ShardingConfig, 'shardCount' | 'shards'>): boolean {
  return config.shardCount > 1 && config.shards === undefined;
}
