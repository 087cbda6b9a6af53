/**
 * State behind a URL (issue "Beyond one machine"): the composed bot in a process of its own, as
 * `npm start` runs it, with its state in SQLite files and then in PostgreSQL (embedded, on this
 * machine), the model answering at once, so that what is measured is the bot and its storage.
 * Then two bot processes sharing one PostgreSQL, and the arithmetic of Discord's and the model
 * server's limits against those numbers.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPostgres } from '../tests/support/embeddedPostgres.ts';
import { type DialogueTiming, type Side, startSide } from './support/dialogueRig.ts';
import { median, ms, quantile } from './support/stats.ts';

const WARMUP = 20;
const SEQUENTIAL = 150;
const AT_ONCE = 20;
const ROUNDS = 5;
/** Between dialogues, as between a person's messages (as the overhead bench does). */
const GAP_MS = 100;
/** Discord's global limit: REST requests a second per bot, whatever the number of processes. */
const DISCORD_GLOBAL_PER_S = 50;
/** Model calls at once per server: enough that the emulated server, answering at once, never queues them. */
const CONCURRENCY = '16';

interface Measured {
  backend: string;
  sequential: number[];
  /** Dialogues a second with AT_ONCE at a time, per round. */
  throughput: number[];
  restPerDialogue: number;
  statementsPerDialogue?: number;
}

/** Transactions committed in the database so far (each statement outside a transaction is one). */
async function commits(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The statistics reach the shared counters within a second of a session's last transaction.
    await sleep(1_500);
    const row = await client.query<{ n: string }>(
      'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(row.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * Dialogues a second, per round, with `AT_ONCE` dialogues at once on each of `sides` (one process,
 * or several sharing one database), all sides in the same round together.
 */
async function burstRates(sides: readonly Side[], tag: string): Promise<number[]> {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    await Promise.all(
      sides.map((side, n) =>
        side.dialogues(Array.from({ length: AT_ONCE }, (_, i) => `${tag}${n} ${round}.${i}`)),
      ),
    );
    rates.push((sides.length * AT_ONCE) / ((performance.now() - started) / 1000));
  }
  return rates;
}

async function measure(backend: string, url?: string): Promise<Measured> {
  const side = await startSide('bot', {
    env: { LLM_CONCURRENCY: CONCURRENCY, ...(url ? { DATABASE_URL: url } : {}) },
  });
  try {
    for (let i = 0; i < WARMUP; i += 1) await side.dialogue(`warm ${i}`);
    const before = url ? await commits(url) : 0;
    const requestsBefore = side.discord.requests.length;
    const sequential: DialogueTiming[] = [];
    for (let i = 0; i < SEQUENTIAL; i += 1) {
      sequential.push(await side.dialogue(`task ${i}`));
      await sleep(GAP_MS);
    }
    const restPerDialogue = (side.discord.requests.length - requestsBefore) / SEQUENTIAL;
    const statements = url ? ((await commits(url)) - before) / SEQUENTIAL : undefined;
    const throughput = await burstRates([side], 'burst ');
    return {
      backend,
      sequential: sequential.map((t) => t.totalMs),
      throughput,
      restPerDialogue,
      ...(statements !== undefined ? { statementsPerDialogue: statements } : {}),
    };
  } finally {
    await side.close();
  }
}

/** One PostgreSQL round trip (`SELECT 1` on an open connection), median of 2,000. */
async function roundTrip(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const times: number[] = [];
    for (let i = 0; i < 2_000; i += 1) {
      const started = performance.now();
      await client.query('SELECT 1');
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    await client.end();
  }
}

/** Two bot processes on one database, each with its own Discord and model emulators, at once. */
async function twoProcesses(url: string): Promise<number[]> {
  const sides = [
    await startSide('bot', { env: { DATABASE_URL: url, LLM_CONCURRENCY: CONCURRENCY } }),
    await startSide('bot', { env: { DATABASE_URL: url, LLM_CONCURRENCY: CONCURRENCY } }),
  ];
  try {
    for (const side of sides) for (let i = 0; i < WARMUP / 2; i += 1) await side.dialogue(`warm ${i}`);
    return await burstRates(sides, 'p');
  } finally {
    for (const side of sides) await side.close();
  }
}

const rate = (x: number) => x.toFixed(1);

export async function benchScale(): Promise<string> {
  const server = await startPostgres();
  try {
    const sqlite = await measure('SQLite files (`DATABASE_URL` unset)');
    const postgresUrl = await server.database();
    const postgres = await measure('PostgreSQL 18 (embedded, same machine)', postgresUrl);
    const trip = await roundTrip(postgresUrl);
    const two = await twoProcesses(await server.database());
    const rows = [sqlite, postgres].map(
      (m) =>
        `| ${m.backend} | ${ms(median(m.sequential))} | ${ms(quantile(m.sequential, 0.95))} | ${rate(median(m.throughput))} |`,
    );
    const extra = median(postgres.sequential) - median(sqlite.sequential);
    const statements = postgres.statementsPerDialogue ?? Number.NaN;
    const rest = sqlite.restPerDialogue;
    const discordCeiling = DISCORD_GLOBAL_PER_S / rest;
    const oneProcess = Math.max(median(sqlite.throughput), median(postgres.throughput));
    const versus =
      discordCeiling < oneProcess
        ? `less than one process sustains above (${rate(oneProcess)}), so more processes never add dialogues a second`
        : `about what one process sustains above (${rate(oneProcess)}) on this 2-core machine; on a larger host one process passes it, so more processes never add dialogues a second`;
    return `## State on SQLite and on PostgreSQL

The composed bot from the build, in a process of its own (as \`npm start\` runs it), over the Discord and Ollama
emulators with Discord's limits off and every model call answered at once, so the time is the bot's and its
storage's (\`LLM_CONCURRENCY=${CONCURRENCY}\`: the emulated model server never queues a call). ${SEQUENTIAL} dialogues one at a time (${GAP_MS} ms apart) after ${WARMUP} of warm-up (a mention, a thread, four
persona posts: the time from the mention to the fourth post), then ${ROUNDS} rounds of ${AT_ONCE} dialogues at once (dialogues a second,
median of the rounds).

| state | per dialogue, median | p95 | dialogues/s, ${AT_ONCE} at once |
|---|---|---|---|
${rows.join('\n')}

**A PostgreSQL round trip** (\`SELECT 1\` on an open connection, median of 2,000): ${ms(trip)}. A dialogue ran
${rate(statements)} transactions (statements and transactions, counted by \`pg_stat_database\`), so about
${ms(statements * trip)} of round trips if they ran one after another; the measured difference at the median is
${ms(extra)} (${rate((extra / Math.max(median(sqlite.sequential), 1e-9)) * 100)}% of a dialogue with an instant model; with a real model,
seconds a turn, it is lost in the noise).

**Two processes on one PostgreSQL**, each with ${AT_ONCE} dialogues at once: ${rate(median(two))} dialogues/s together (one
process: ${rate(median(postgres.throughput))}). This machine has 2 cores, so the two processes and PostgreSQL share them. What bounds one
process at 20 at once is not its storage: SQLite and PostgreSQL give the same, and a second process on the same database
doubles it.

**What binds first.** A dialogue made ${rate(rest)} Discord REST requests here (a thread and four webhook posts, and
the reads around them; streamed turns add about one edit a second per turn). Discord's global limit is
${DISCORD_GLOBAL_PER_S} requests a second per bot, for all its processes together: about ${rate(discordCeiling)} dialogues a second,
${versus} — they add gateway capacity
(2,500 servers a shard), memory and failover. Before Discord, the model server binds: four model calls a dialogue
at, say, 2 s each on an 8B model with one request at a time (\`LLM_CONCURRENCY=1\`) is 0.125 dialogues a second per
server; more servers (a persona's \`hosts\`, or vLLM's batching) raise that, and the bot's own ceiling is two orders of
magnitude above it.`;
  } finally {
    await server.stop();
  }
}
