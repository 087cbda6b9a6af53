import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runShardManager, type ShardManagerOptions } from '../../src/app/sharding/shardManager.ts';
import { createLogger } from '../../src/services/logger.ts';
import { ManualClock } from '../support/clock.ts';
import { DiscordEmulator } from '../support/discordEmulator.ts';
import { REPO_ROOT, tempFolders } from '../support/fixtures.ts';

const FAKE_SHARD = join(REPO_ROOT, 'tests/support/fakeShard.mjs');
const folders = tempFolders();
const emulators: DiscordEmulator[] = [];
// The fake shards read these from the environment the manager passes on (its own, plus theirs).
const saved = { ...process.env };
afterEach(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  for (const emulator of emulators.splice(0)) await emulator.close();
  folders.cleanup();
});

interface ShardEvent {
  event: string;
  shard: number;
  pid: number;
  at: number;
  shardCount?: number;
  proxy?: string;
  status?: number;
}

/**
 * A manager over the fake shard, against an emulator, on a clock the test moves (the session
 * windows and the restarts' waits pass only when it does); `stop()` ends it as a SIGTERM would.
 */
async function startManager(
  options: Partial<ShardManagerOptions> & { shards?: number; maxConcurrency?: number } = {},
) {
  const emulator = await DiscordEmulator.start({ maxConcurrency: options.maxConcurrency ?? 4 });
  emulators.push(emulator);
  const log = join(folders.folder(), 'shards.jsonl');
  writeFileSync(log, '');
  process.env.FAKE_SHARD_LOG = log;
  const records: Array<{ msg: string; shard?: string; restartInMs?: number }> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)));
      done();
    },
  });
  let stop!: (why: string) => void;
  const clock = new ManualClock();
  const exited = runShardManager({
    config: {
      shardCount: options.shards ?? 2,
      discordApiUrl: emulator.apiUrl,
      discordRestProxy: undefined,
      discordToken: emulator.token,
    },
    logger: createLogger({ level: 'info', destination }),
    file: FAKE_SHARD,
    execArgv: [],
    restart: { firstMs: 50, maxMs: 400, stableMs: 60_000 },
    identifyWindowMs: 300,
    clock,
    stopSignal: new Promise((resolve) => {
      stop = resolve;
    }),
    ...options,
  });
  const events = (): ShardEvent[] =>
    readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ShardEvent);
  return { emulator, exited, events, records, clock, stop: () => stop('SIGTERM') };
}

describe("npm start's shard manager", () => {
  it('starts a process per shard, each told its shard and the REST proxy the manager runs, and stops them all', async () => {
    const run = await startManager({ shards: 3 });
    await run.emulator.waitFor(
      () => run.events().filter((e) => e.event === 'asked Discord').length === 3,
      15_000,
    );
    // Discord lets four sessions start at once here: they start together, in any order.
    const started = run
      .events()
      .filter((e) => e.event === 'started')
      .sort((a, b) => a.shard - b.shard);
    expect(started.map((e) => [e.shard, e.shardCount])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    // One proxy for all, on this host; each request went through it with the bot's token.
    expect(new Set(started.map((e) => e.proxy)).size).toBe(1);
    expect(started[0]?.proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    expect(
      run
        .events()
        .filter((e) => e.event === 'asked Discord')
        .map((e) => e.status),
    ).toEqual([200, 200, 200]);
    run.stop();
    expect(await run.exited).toBe(0);
    expect(run.events().filter((e) => e.event === 'stopped').length).toBe(3);
    expect(run.records.map((r) => r.msg)).toContain('every shard stopped');
  });

  it('starts the next shards only a session window after the ones Discord lets start at once', async () => {
    const run = await startManager({ shards: 3, maxConcurrency: 2 });
    const asked = () => run.events().filter((e) => e.event === 'asked Discord');
    const ready = () => run.records.filter((r) => r.msg === 'shard ready');
    await run.emulator.waitFor(() => (asked().length === 2 && ready().length === 2) || undefined, 15_000);
    // The first two are ready; the third waits for the window, on the clock alone.
    expect(run.clock.sleeping).toBe(1);
    await run.clock.advance(299);
    expect(run.events().filter((e) => e.shard === 2)).toEqual([]);
    await run.clock.advance(1);
    await run.emulator.waitFor(() => asked().length === 3 || undefined, 15_000);
    const at = run.events().filter((e) => e.event === 'started');
    run.stop();
    await run.exited;
    expect(
      at
        .map((e) => e.shard)
        .slice(0, 2)
        .sort(),
    ).toEqual([0, 1]);
    expect(at[2]?.shard).toBe(2);
  });

  it('starts a shard again when its process dies, waiting longer each time', async () => {
    const run = await startManager({ shards: 2 });
    await run.emulator.waitFor(
      () => run.events().filter((e) => e.event === 'asked Discord').length === 2,
      15_000,
    );
    const first = run.events().find((e) => e.shard === 1)?.pid ?? 0;
    const died = () => run.records.filter((r) => r.msg === 'shard process died: starting it again');
    const startsOf1 = () => run.events().filter((e) => e.shard === 1 && e.event === 'started');
    process.kill(first, 'SIGKILL');
    await run.emulator.waitFor(() => died().length === 1 || undefined, 15_000);
    // It starts again once its wait has passed on the clock, not before.
    await run.clock.advance(49);
    expect(startsOf1()).toHaveLength(1);
    await run.clock.advance(1);
    await run.emulator.waitFor(
      () => run.events().filter((e) => e.shard === 1 && e.event === 'asked Discord').length === 2,
      15_000,
    );
    const second =
      run
        .events()
        .filter((e) => e.shard === 1 && e.event === 'started')
        .at(-1)?.pid ?? 0;
    expect(second).not.toBe(first);
    process.kill(second, 'SIGKILL');
    await run.emulator.waitFor(() => died().length === 2 || undefined, 15_000);
    await run.clock.advance(99);
    expect(startsOf1()).toHaveLength(2);
    await run.clock.advance(1);
    await run.emulator.waitFor(
      () => run.events().filter((e) => e.shard === 1 && e.event === 'asked Discord').length === 3,
      15_000,
    );
    expect(died().map((r) => [r.shard, r.restartInMs])).toEqual([
      ['1', 50],
      ['1', 100],
    ]);
    // Up a minute (`stableMs`), it is back to the first wait when it dies again.
    await run.clock.advance(60_000);
    const third = startsOf1().at(-1)?.pid ?? 0;
    process.kill(third, 'SIGKILL');
    await run.emulator.waitFor(() => died().length === 3 || undefined, 15_000);
    expect(died().at(-1)?.restartInMs).toBe(50);
    // Shard 0 was never touched.
    expect(run.events().filter((e) => e.shard === 0 && e.event === 'started')).toHaveLength(1);
    run.stop();
    expect(await run.exited).toBe(0);
  });

  it('stops every shard, with exit code 2, when one stops on a configuration error', async () => {
    process.env.FAKE_SHARD_1 = 'config-error';
    const run = await startManager({ shards: 2 });
    expect(await run.exited).toBe(2);
    expect(run.events().filter((e) => e.shard === 1 && e.event === 'started')).toHaveLength(1);
    expect(run.records.map((r) => r.msg)).toContain(
      'a shard stopped on a configuration error: stopping every shard',
    );
  });

  it("refuses to start when Discord refuses the bot's token", async () => {
    const emulator = await DiscordEmulator.start();
    emulators.push(emulator);
    const code = await runShardManager({
      config: {
        shardCount: 2,
        discordApiUrl: emulator.apiUrl,
        discordRestProxy: undefined,
        discordToken: 'not-the-token',
      },
      logger: createLogger({ level: 'silent' }),
      file: FAKE_SHARD,
      execArgv: [],
      stopSignal: new Promise(() => {}),
    });
    expect(code).toBe(2);
  });
});
