/**
 * The dialogue against the floor (issue "Endurance and speed", benchmark sections a, b, c): the
 * real composed bot and a minimal discord.js client that makes the same model calls and posts,
 * over the Discord and Ollama emulators. (a) overhead per dialogue, (b) a soak of the bot's live
 * heap, (c) twenty threads at once under Discord's two posting limits, scaled down.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { PostingLimits } from '../src/bot/posting/postingScheduler.ts';
import type { RateLimit } from '../tests/support/discordEmulator.ts';
import { leastSpan } from '../tests/support/leastSpan.ts';
import { type Side, startSide } from './support/dialogueRig.ts';
import { mark, median, ms, quantile, ratio, slope } from './support/stats.ts';

const OVERHEAD_DIALOGUES = 200;
const OVERHEAD_WARMUP = 20;
/** Between dialogues, as between a person's messages: what a side does after its last post is not the next one's wait. */
const OVERHEAD_GAP_MS = 100;
const SOAK_DIALOGUES = 2_000;
const SOAK_WARMUP = 500;
const SOAK_SAMPLES = 10;
const THREADS = 20;
const THREAD_ROUNDS = 3;

/** Model times the overhead is measured at: answers at once (the clients' own time alone), and quick answers. */
const MODEL_MS = [0, 100];

interface OverheadRow {
  modelMs: number;
  bot: number[];
  floor: number[];
}

/** Each dialogue on the bot, then the same on the floor, in turn. */
async function overheadAt(modelMs: number): Promise<OverheadRow> {
  const bot = await startSide('bot', { modelMs });
  const floor = await startSide('floor', { modelMs });
  const row: OverheadRow = { modelMs, bot: [], floor: [] };
  try {
    for (let i = 0; i < OVERHEAD_WARMUP + OVERHEAD_DIALOGUES; i += 1) {
      const a = await bot.dialogue(`task ${i}`);
      await sleep(OVERHEAD_GAP_MS);
      const b = await floor.dialogue(`task ${i}`);
      await sleep(OVERHEAD_GAP_MS);
      if (i < OVERHEAD_WARMUP) continue;
      row.bot.push(a.totalMs);
      row.floor.push(b.totalMs);
    }
  } finally {
    await bot.close();
    await floor.close();
  }
  return row;
}

/** (a) The bot's dialogue against the floor's, at the median and p95. */
export async function benchOverhead(): Promise<string> {
  const rows: OverheadRow[] = [];
  for (const modelMs of MODEL_MS) rows.push(await overheadAt(modelMs));
  const lines = rows.map(({ modelMs, bot, floor }) => {
    const med = median(bot) / median(floor);
    const p95 = quantile(bot, 0.95) / quantile(floor, 0.95);
    return `| ${modelMs} ms | ${ms(median(bot))} | ${ms(median(floor))} | ${ms(median(bot) - median(floor))} | **${ratio(med)}** ${mark(med, 1.3)} | ${ms(quantile(bot, 0.95))} | ${ms(quantile(floor, 0.95))} | **${ratio(p95)}** ${mark(p95, 1.5)} |`;
  });
  return `## Dialogue overhead against the floor

${OVERHEAD_DIALOGUES} dialogues after ${OVERHEAD_WARMUP} of warm-up, one at a time (${OVERHEAD_GAP_MS} ms apart), the bot's and the floor's in turn. The bot is the
composed app (\`composeApp\`, from the build, in a process of its own); the floor (\`bench/floor/floorBot.mjs\`) is the unmodified
discord.js \`Client\` making the same four chat calls (plan, thesis, antithesis, answer) and the same posts (a thread, four
webhook posts), with no graph and no storage; the bot posts each turn whole as the floor does (\`STREAM_TURNS=false\`:
streamed turns are measured in their own section). Both over the emulators with Discord's limits off; the time is from the
mention to the arrival of the fourth persona post. Each model call answers at once (the clients' own time alone), then
after 100 ms (still quicker than any local model writes a turn).

| model call | bot, median | floor, median | difference | bot ÷ floor | bot, p95 | floor, p95 | bot ÷ floor |
|---|---|---|---|---|---|---|---|
${lines.join('\n')}

Targets: ≤ 1.3× at the median, ≤ 1.5× at p95.

At 0 ms the ratio compares the two clients' own work, not a dialogue a person waits for: the bot's ~20 ms more a
dialogue is CPU (a profile of 300 dialogues: LangGraph's checkpoints, a SQLite write per step; LangChain's run
plumbing; the interaction log and the memory's vector row; the posting lane), and it is the same ~20 ms at 100 ms a
call, where the ratio is within the target. A local model takes seconds a turn, so the bot's share there is under 1%.
`;
}

interface SoakSample {
  dialogues: number;
  heap: number;
  threads: number;
}

/** Dialogues a thread stays active after its own ends, when threads are archived as Discord does. */
const ARCHIVE_AFTER = 20;

/**
 * One bot, many dialogues, its live heap read now and then. With `archive`, each thread is
 * archived `ARCHIVE_AFTER` dialogues after its dialogue ended, dated a day back (Discord archives a
 * thread a day after its last message), and discord.js's sweeper runs every second instead of
 * every hour: the soak then shows the bot in its steady state, time compressed.
 */
async function soak(
  archive: boolean,
): Promise<{ samples: SoakSample[]; warnings: string[]; minutes: number }> {
  const bot = await startSide(
    'bot',
    archive ? { sweepers: { threads: { interval: 1, lifetime: 3_600 } } } : {},
  );
  const samples: SoakSample[] = [];
  const every = (SOAK_DIALOGUES - SOAK_WARMUP) / SOAK_SAMPLES;
  const sample = async (dialogues: number) => {
    const { heapUsed, threads } = await bot.heap();
    samples.push({ dialogues, heap: heapUsed, threads });
    process.stdout.write(
      `  ${dialogues} dialogues: heap ${(heapUsed / 2 ** 20).toFixed(1)} MB, ${threads} threads cached\n`,
    );
  };
  const finished: string[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < SOAK_DIALOGUES; i += 1) {
      if (i >= SOAK_WARMUP && (i - SOAK_WARMUP) % every === 0) await sample(i);
      finished.push((await bot.dialogue(`soak ${i}`)).threadId);
      const idle = archive && finished.length > ARCHIVE_AFTER ? finished.shift() : undefined;
      if (idle) bot.discord.archiveThread(idle, { at: new Date(Date.now() - 86_400_000) });
    }
    await sample(SOAK_DIALOGUES);
  } finally {
    await bot.close();
  }
  return { samples, warnings: bot.warnings, minutes: (performance.now() - started) / 60_000 };
}

/** (b) The bot's live heap over many dialogues, after forced collections, and its warnings. */
export async function benchSoak(): Promise<string> {
  const active = await soak(false);
  const archived = await soak(true);
  const growth = (samples: SoakSample[]) => slope(samples.map((p) => [p.dialogues, p.heap]));
  const warnings = [...active.warnings, ...archived.warnings];
  const leaks = warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'));
  const mbOf = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
  const rows = active.samples
    .map((p, i) => {
      const q = archived.samples[i]!;
      return `| ${p.dialogues} | ${mbOf(p.heap)} | ${p.threads} | ${mbOf(q.heap)} | ${q.threads} |`;
    })
    .join('\n');
  const [a, b] = [growth(active.samples), growth(archived.samples)];
  return `## Soak: the bot's live heap over ${SOAK_DIALOGUES.toLocaleString('en')} dialogues

One bot, ${SOAK_DIALOGUES.toLocaleString('en')} dialogues one after another in one channel, each in a thread of its own (${active.minutes.toFixed(1)} and ${archived.minutes.toFixed(1)} minutes).
The live heap is read in the bot's process after forced full collections (\`--expose-gc\`, with the finalizers they
schedule given a turn), after ${SOAK_WARMUP} dialogues of warm-up (the compiler's code settles) and then every ${(SOAK_DIALOGUES - SOAK_WARMUP) / SOAK_SAMPLES}; the growth
is the least-squares slope over those points. Twice: with every thread left active, and with threads archived as
Discord archives them (each ${ARCHIVE_AFTER} dialogues after its own ended, dated a day back, and discord.js's sweeper run every
second instead of every hour: the bot's steady state, time compressed).

| dialogues | live heap, threads left active | threads cached | live heap, threads archived | threads cached |
|---|---|---|---|---|
${rows}

Growth per dialogue: **${(a / 1024).toFixed(2)} KB** ${mark(a, 2048)} with every thread left active, **${(b / 1024).toFixed(2)} KB** ${mark(b, 2048)} with threads archived
(target ≤ 2 KB). Process warnings: ${warnings.length === 0 ? 'none' : warnings.map((w) => `\`${w}\``).join(', ')}; MaxListenersExceededWarning: ${leaks.length} ${mark(leaks.length, 0)}.

The difference is discord.js's thread cache: it must keep an active thread (about 1.3 KB with its managers) to deliver
the messages written in it, and the bot's sweeper drops a thread within two hours of Discord archiving it
(\`BOT_CACHES\` in \`src/bot/createBot.ts\`).
`;
}

/** Discord's limits a tenth as long (5 per 200 ms per webhook, 30 per 6 s per channel), on both sides. */
const WEBHOOK: RateLimit = { limit: 5, windowMs: 200 };
const CHANNEL: RateLimit = { limit: 30, windowMs: 6_000 };
const SCALED: Partial<PostingLimits> = {
  webhook: WEBHOOK,
  channel: CHANNEL,
  marginMs: 5,
  noticeAfterMs: 500,
};

interface ThreadRound {
  span: number;
  rateLimited: number;
  firstPosts: number[];
}

async function threadRound(kind: 'bot' | 'floor'): Promise<ThreadRound> {
  const side: Side = await startSide(kind, {
    rateLimits: { webhook: WEBHOOK, channelWebhookMessages: CHANNEL },
    posting: SCALED,
  });
  try {
    const timings = await side.dialogues(Array.from({ length: THREADS }, (_, i) => `thread ${i}`));
    const arrivals = timings.flatMap((t) => t.arrivals);
    return {
      span: Math.max(...arrivals) - Math.min(...arrivals),
      rateLimited: side.discord.rateLimited.length,
      firstPosts: timings.map((t) => t.firstPostMs),
    };
  } finally {
    await side.close();
  }
}

/** (c) Twenty dialogues started at once in one channel, under both of Discord's posting limits. */
export async function benchThreads(): Promise<string> {
  const bot: ThreadRound[] = [];
  const floor: ThreadRound[] = [];
  for (let round = 0; round < THREAD_ROUNDS; round += 1) {
    bot.push(await threadRound('bot'));
    floor.push(await threadRound('floor'));
  }
  const least = leastSpan(THREADS * 4, WEBHOOK, CHANNEL);
  const row = (name: string, rounds: ThreadRound[], target: boolean) => {
    const span = median(rounds.map((r) => r.span));
    const limited = rounds.reduce((sum, r) => sum + r.rateLimited, 0);
    const firsts = rounds.flatMap((r) => r.firstPosts);
    return `| ${name} | ${ms(span)} | ${ratio(span / least)}${target ? ` ${mark(span / least, 1.2)}` : ''} | ${limited}${target ? ` ${mark(limited, 0)}` : ''} | ${ms(median(firsts))} | ${ms(quantile(firsts, 0.95))} |`;
  };
  return `## Twenty threads at once under Discord's posting limits

${THREADS} mentions at once in one channel, each a dialogue of four persona posts (${THREADS * 4} webhook messages), ${THREAD_ROUNDS} rounds on each side.
Discord's two limits are modelled by the emulator with real 429s, a tenth as long as Discord's (5 per ${WEBHOOK.windowMs} ms per webhook,
${CHANNEL.limit} per ${CHANNEL.windowMs / 1000} s per channel) and the bot paces for the same: the least time the two limits allow from the first
post to the last is ${ms(least)}. The floor does not pace: discord.js waits out each 429 it gets.

| | total (median) | ÷ least | 429s (all rounds) | first post, median | first post, p95 |
|---|---|---|---|---|---|
${row('bot', bot, true)}
${row('floor', floor, false)}

Targets: zero 429s, total ≤ 1.2× the least.
`;
}
