import type { ChildProcess } from 'node:child_process';
import { REST, Routes, type Shard, ShardingManager } from 'discord.js';
import { type Clock, systemClock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import type { Logger } from '../../services/logger.ts';
import { describeLoginFailure } from '../loginFailure.ts';
import { signalled } from '../signals.ts';
import { type RestProxy, startRestProxy } from './restProxy.ts';

/**
 * `npm start` with `SHARD_COUNT` above 1 and `SHARDS` unset: discord.js's `ShardingManager` starts
 * one process per shard, each the bot with its shard. The manager starts them as Discord allows
 * sessions to start (`max_concurrency` at once, then 5 s), restarts one that dies (waiting longer
 * each time it dies again soon), stops them all on SIGINT or SIGTERM, and, unless
 * `DISCORD_REST_PROXY` names one, runs the REST proxy they all post through.
 */

/** Discord lets `max_concurrency` sessions start per 5 s; the margin is discord.js's own. */
const IDENTIFY_WINDOW_MS = 5_500;

export interface ShardManagerOptions {
  config: Pick<Config, 'shardCount' | 'discordApiUrl' | 'discordRestProxy'> & { discordToken: string };
  logger: Logger;
  /** The entry each shard process runs (the bot's own). */
  file: string;
  /** Node's flags for it (the TypeScript loader when run from the sources). */
  execArgv: string[];
  /** Longest a shard may take from its start to its gateway's READY (default 2 min). */
  readyTimeoutMs?: number;
  /** Waits before a dead shard starts again: from `firstMs`, doubling up to `maxMs`; a shard up `stableMs` starts over. */
  restart?: { firstMs: number; maxMs: number; stableMs: number };
  /** Stops the manager when it resolves (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<string>;
  /** Discord's window for session starts (5.5 s; tests shorten it). */
  identifyWindowMs?: number;
  /** Times the session windows, the restarts' waits and a stop's patience (default: the system's). */
  clock?: Clock;
}

const DEFAULT_RESTART = { firstMs: 1_000, maxMs: 60_000, stableMs: 60_000 };

/** What `/gateway/bot` says of starting sessions, and the shard count Discord recommends. */
interface GatewayAdvice {
  shards: number;
  maxConcurrency: number;
  remaining: number;
}

/** Runs the shards until stopped; resolves with the exit code. */
export async function runShardManager(options: ShardManagerOptions): Promise<number> {
  const { config } = options;
  const log = options.logger.child({ module: 'shards' });
  let proxy: RestProxy | undefined;
  if (!config.discordRestProxy) {
    proxy = await startRestProxy({
      discordApiUrl: config.discordApiUrl,
      port: 0,
      host: '127.0.0.1',
      logger: options.logger,
    });
    log.info({ api: proxy.api }, 'REST proxy started: every shard posts through it');
  }
  const api = config.discordRestProxy ?? proxy?.api ?? config.discordApiUrl;
  // The clock's timers never hold the process, and with every shard dead and waiting to start
  // again (and the proxy elsewhere) nothing else would: the manager holds it until it stops.
  const alive = setInterval(() => {}, 2 ** 31 - 1);
  try {
    const advice = await askGateway(api, config.discordToken);
    if (typeof advice === 'number') return advice;
    adviseOnCount(log, config.shardCount, advice);
    const manager = new ShardingManager(options.file, {
      totalShards: config.shardCount,
      mode: 'process',
      // Restarts are ours: discord.js would restart at once, and for ever, even a shard that
      // stops on a configuration error.
      respawn: false,
      execArgv: options.execArgv,
      token: config.discordToken,
    });
    const fleet = new ShardFleet(manager, {
      log,
      restart: options.restart ?? DEFAULT_RESTART,
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
      env: proxy ? { DISCORD_REST_PROXY: proxy.api } : {},
      clock: options.clock ?? systemClock,
    });
    const stopSignal = options.stopSignal ?? signalled();
    // Not awaited: a stop may come while shards still start (each start ends with the stop).
    void fleet.start(
      config.shardCount,
      advice.maxConcurrency,
      options.identifyWindowMs ?? IDENTIFY_WINDOW_MS,
    );
    const why = await Promise.race([stopSignal, fleet.fatal]);
    log.info({ reason: why }, 'stopping the shards');
    await fleet.stop();
    log.info('every shard stopped');
    return fleet.exitCode;
  } finally {
    clearInterval(alive);
    await proxy?.close();
  }
}

/** `/gateway/bot`, through the proxy: what Discord allows; an exit code when it refuses the token or cannot be reached. */
async function askGateway(api: string, token: string): Promise<GatewayAdvice | number> {
  try {
    const answer = (await new REST({ api }).setToken(token).get(Routes.gatewayBot())) as {
      shards?: number;
      session_start_limit?: { max_concurrency?: number; remaining?: number };
    };
    return {
      shards: answer.shards ?? 1,
      maxConcurrency: Math.max(1, answer.session_start_limit?.max_concurrency ?? 1),
      remaining: answer.session_start_limit?.remaining ?? Number.POSITIVE_INFINITY,
    };
  } catch (error) {
    const failure = describeLoginFailure(error, api);
    process.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

/** What an operator should hear about the count before the shards start. */
function adviseOnCount(log: Logger, count: number, advice: GatewayAdvice): void {
  log.info({ shards: count, maxConcurrency: advice.maxConcurrency }, 'starting a process per shard');
  if (advice.shards > count) {
    log.warn(
      { recommended: advice.shards, shards: count },
      `Discord recommends ${advice.shards} shards for this bot's servers: raise SHARD_COUNT`,
    );
  }
  if (advice.remaining < count) {
    log.warn(
      { remaining: advice.remaining, shards: count },
      'Discord allows fewer session starts today than there are shards: some wait for the daily reset',
    );
  }
}

interface FleetSettings {
  log: Logger;
  restart: { firstMs: number; maxMs: number; stableMs: number };
  readyTimeoutMs: number;
  /** Set in each shard's environment beside discord.js's own (`SHARDS`, `SHARD_COUNT`). */
  env: Record<string, string>;
  clock: Clock;
}

/** The shard processes: started in identify order, restarted when they die, stopped together. */
class ShardFleet {
  /** Resolves with a reason when the fleet cannot go on (a shard's configuration error). */
  readonly fatal: Promise<string>;
  exitCode = 0;
  private stopping = false;
  private readonly deaths = new Map<number, { count: number; startedAt: number }>();
  private stopFleet: (reason: string) => void = () => {};

  constructor(
    private readonly manager: ShardingManager,
    private readonly settings: FleetSettings,
  ) {
    this.fatal = new Promise((resolve) => {
      this.stopFleet = resolve;
    });
  }

  /**
   * Starts every shard in identify order: `maxConcurrency` of them at once (Discord's buckets are
   * `shard_id % max_concurrency`), the next ones once those are ready and a session window passed.
   */
  async start(count: number, maxConcurrency: number, windowMs: number): Promise<void> {
    for (let first = 0; first < count && !this.stopping; first += maxConcurrency) {
      const ids = Array.from({ length: Math.min(maxConcurrency, count - first) }, (_, i) => first + i);
      const more = first + maxConcurrency < count;
      await Promise.all([
        ...ids.map((id) => this.spawn(this.create(id))),
        more ? this.settings.clock.sleep(windowMs) : undefined,
      ]);
    }
  }

  private create(id: number): Shard {
    const shard = this.manager.createShard(id);
    Object.assign(shard.env as Record<string, string>, this.settings.env);
    shard.on('death', (child) => this.died(shard, child as ChildProcess));
    return shard;
  }

  /** Starts a shard's process and waits for its READY (logged, not thrown: its death is handled). */
  private async spawn(shard: Shard): Promise<void> {
    const entry = this.deaths.get(shard.id) ?? { count: 0, startedAt: 0 };
    entry.startedAt = this.settings.clock.now();
    this.deaths.set(shard.id, entry);
    try {
      const child = await shard.spawn(this.settings.readyTimeoutMs);
      this.settings.log.info({ shard: String(shard.id), pid: (child as ChildProcess).pid }, 'shard ready');
    } catch (error) {
      if (!this.stopping)
        this.settings.log.error({ err: error, shard: String(shard.id) }, 'shard did not become ready');
    }
  }

  private died(shard: Shard, child: ChildProcess): void {
    if (this.stopping) return;
    const { log, restart, clock } = this.settings;
    const code = child.exitCode;
    if (code === 2) {
      // The shard said what to fix (its configuration, or a token Discord refuses): all would.
      log.error(
        { shard: String(shard.id) },
        'a shard stopped on a configuration error: stopping every shard',
      );
      this.exitCode = 2;
      this.stopFleet(`shard ${shard.id} stopped on a configuration error`);
      return;
    }
    const entry = this.deaths.get(shard.id) ?? { count: 0, startedAt: 0 };
    if (clock.now() - entry.startedAt >= restart.stableMs) entry.count = 0;
    const waitMs = Math.min(restart.maxMs, restart.firstMs * 2 ** entry.count);
    entry.count += 1;
    this.deaths.set(shard.id, entry);
    log.warn(
      { shard: String(shard.id), pid: child.pid, code, signal: child.signalCode, restartInMs: waitMs },
      'shard process died: starting it again',
    );
    void clock.sleep(waitMs).then(() => {
      if (!this.stopping) return this.spawn(shard);
    });
  }

  /** Asks each shard process to stop (SIGTERM: it finishes its turns' checkpoints) and waits for it; SIGKILL after 30 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.manager.shards.values()].map(async (shard) => {
        const child = shard.process;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const patience = new AbortController();
        void this.settings.clock.sleep(30_000, patience.signal).then(
          () => child.kill('SIGKILL'),
          () => undefined,
        );
        await exited;
        patience.abort();
      }),
    );
  }
}
