#!/usr/bin/env node
/**
 * A stand-in for the bot as a shard process of `npm start`'s manager, for the manager's tests: it
 * asks Discord (the emulator) who it is through `DISCORD_REST_PROXY` with the token the manager
 * gave it, tells the manager it is ready as discord.js's `ShardClientUtil` does (`{ _ready: true }`
 * over IPC), and stops on SIGTERM or when the manager is gone. Each step is appended, as a JSON
 * line, to the file `FAKE_SHARD_LOG` names. `FAKE_SHARD_<id>=config-error` makes shard `<id>` exit
 * with 2 at once, as the bot does on a configuration error.
 */
import { appendFileSync } from 'node:fs';

const shard = Number(process.env.SHARDS);
const note = (event, fields = {}) =>
  appendFileSync(
    process.env.FAKE_SHARD_LOG,
    `${JSON.stringify({ event, shard, pid: process.pid, at: Date.now(), ...fields })}\n`,
  );

process.on('SIGTERM', () => {
  note('stopped');
  process.exit(0);
});
process.on('disconnect', () => {
  note('orphaned');
  process.exit(0);
});

const proxy = process.env.DISCORD_REST_PROXY;
note('started', { shardCount: Number(process.env.SHARD_COUNT), proxy });
if (process.env[`FAKE_SHARD_${shard}`] === 'config-error') process.exit(2);

const me = await fetch(`${proxy}/v10/users/@me`, {
  headers: { Authorization: `Bot ${process.env.DISCORD_TOKEN}` },
});
note('asked Discord', { status: me.status });
process.send?.({ _ready: true });
