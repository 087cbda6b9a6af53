/**
 * Streamed turns: the time from a model's first token to the persona's first visible post in
 * Discord, and the edits each turn costs, over the real bot, the Discord emulator (Discord's own
 * limits: 5 requests per 2 s per webhook, 30 webhook messages a minute per channel) and the
 * Ollama emulator streaming at about 75 tokens a second. Beside it the same with
 * STREAM_TURNS=false, where the first words show only once the turn is finished. Part of
 * `npm run bench` (`npm run bench -- streaming` alone).
 */
import { cpus, loadavg } from 'node:os';
import { STREAM_CURSOR } from '../src/bot/posting/turnStream.ts';
import { type BotHarness, startBotHarness } from '../tests/support/botHarness.ts';
import { TEST_MODELS } from '../tests/support/fixtures.ts';

/** Dialogues one after another, and dialogues at once in one channel. */
const SEQUENTIAL = 8;
const AT_ONCE = 3;
/** 12 characters (about 3 tokens) a piece, every 40 ms: about 75 tokens a second, an 8B model on a good GPU. */
const PIECE_MS = 40;
const WORDS = 'a persona thinks aloud in words that arrive a few at a time';
const ANSWER = `${`${WORDS}, `.repeat(8).trim()}.`;
const EXECUTE = 'POST /webhooks/:webhook/:token';
const EDIT = 'PATCH /webhooks/:webhook/:token/messages/:message';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

interface Measured {
  /** Model's first token → the turn's first post arriving at Discord, ms. */
  firstPost: number[];
  /** Edits per turn. */
  edits: number[];
  /** Model's first token → the turn's final text in Discord, ms. */
  complete: number[];
  rateLimited: number;
}

async function measure(stream: boolean, dialogues: number, atOnce: boolean): Promise<Measured> {
  const h: BotHarness = await startBotHarness({
    env: { STREAM_TURNS: String(stream), MEMORY_RECALL_K: '0' },
    discord: {},
  });
  try {
    h.ollama.respond((request) => ({
      content: request.model === TEST_MODELS.ROBIN ? `${ANSWER}\nDISSONANCE: 0.1` : ANSWER,
      pieceDelayMs: PIECE_MS,
    }));
    const result: Measured = { firstPost: [], edits: [], complete: [], rateLimited: 0 };
    const run = async (task: string) => {
      const mention = h.discord.userSays(h.userId, h.discord.channelId, task, { mentionBot: true });
      await h.discord.waitFor(() => {
        const posts = h.discord.messages(mention.id).filter((m) => m.webhook_id);
        return posts.length >= 4 && posts.every((m) => !m.content.endsWith(STREAM_CURSOR)) ? true : undefined;
      }, 300_000);
      return mention.id;
    };
    const threads: string[] = [];
    if (atOnce)
      threads.push(...(await Promise.all(Array.from({ length: dialogues }, (_, i) => run(`task ${i}`)))));
    else for (let i = 0; i < dialogues; i += 1) threads.push(await run(`task ${i}`));

    // Each model answer's first piece, matched with its turn's first post: by thread, in order.
    const pieces = h.ollama.firstPieces;
    const chats = h.ollama.requests.filter((r) => r.path === '/api/chat');
    for (const threadId of threads) {
      const task = `task ${threads.indexOf(threadId)}`;
      const asked = chats
        .map((r, index) => ({ body: JSON.stringify(r.body), index }))
        .filter((r) => r.body.includes(`request:\\n${task}`))
        .map((r) => pieces[r.index]?.at ?? Number.NaN);
      const posts = h.discord.messages(threadId).filter((m) => m.webhook_id);
      const executes = h.discord.requests.filter(
        (r) => r.route === EXECUTE && r.query.thread_id === threadId,
      );
      posts.slice(0, 4).forEach((post, turn) => {
        const first = asked[turn] ?? Number.NaN;
        const created = executes[turn]?.arrivedAt ?? Number.NaN;
        const edits = h.discord.edits(post.id);
        result.firstPost.push(created - first);
        result.edits.push(edits.length);
        result.complete.push((edits.at(-1)?.at ?? created) - first);
      });
    }
    result.rateLimited = h.discord.rateLimited.length;
    const editRequests = h.discord.requests.filter((r) => r.route === EDIT).length;
    if (stream && editRequests === 0) throw new Error('streaming made no edits');
    return result;
  } finally {
    await h.close();
  }
}

export async function benchStreaming(): Promise<string> {
  const rows: string[] = [];
  const ms = (value: number) => `${Math.round(value)} ms`;
  let streamedP50 = Number.NaN;
  for (const [label, stream, count, atOnce] of [
    ['streamed, one dialogue at a time', true, SEQUENTIAL, false],
    [`streamed, ${AT_ONCE} dialogues at once in one channel`, true, AT_ONCE, true],
    ['STREAM_TURNS=false, one at a time', false, SEQUENTIAL, false],
  ] as const) {
    process.stdout.write(`  ${label}…\n`);
    const m = await measure(stream, count, atOnce);
    if (stream && !atOnce) streamedP50 = percentile(m.firstPost, 50);
    const editsMean = m.edits.reduce((a, b) => a + b, 0) / m.edits.length;
    rows.push(
      `| ${label} | ${m.firstPost.length} | ${ms(percentile(m.firstPost, 50))} | ${ms(percentile(m.firstPost, 95))} | ${ms(percentile(m.complete, 50))} | ${editsMean.toFixed(1)} (max ${Math.max(...m.edits)}) | ${m.rateLimited} |`,
    );
  }
  const turnMs = Math.ceil(ANSWER.length / 12) * PIECE_MS;
  return `## Streamed turns

Each turn is ${ANSWER.length} characters, streamed by the Ollama emulator in 12-character pieces every ${PIECE_MS} ms (about ${turnMs} ms a turn, ~75 tokens/s); the Discord emulator enforces Discord's limits (5 requests per 2 s per webhook, 30 webhook messages per minute per channel). "First post" is the time from the model's first piece leaving Ollama to the persona's first message arriving at Discord; "final" to the last edit (or the post, unstreamed).

| Run | Turns | First post p50 | First post p95 | Final text p50 | Edits per turn | 429s |
|---|---|---|---|---|---|---|
${rows.join('\n')}

The p95s of the one-at-a-time runs are Discord's channel limit, not the bot: ${SEQUENTIAL} dialogues × 4 posts come in under a minute, past the 30 webhook messages a channel may take, so the last turns wait for the window (edits do not count toward it and go on meanwhile).

Target: first post p50 ≤ 300 ms — measured ${ms(streamedP50)} (${streamedP50 <= 300 ? 'met' : 'NOT met'}). Load average at the end: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(', ')} on ${cpus().length} cores.
`;
}
