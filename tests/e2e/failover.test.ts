import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { amendedCodex, draftAnswer } from '../support/amendmentScripts.ts';
import { shardOfGuild } from '../support/discordEmulator.ts';
import { useEmulators } from '../support/emulators.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type LaunchedBot, type LogLine, launchBot } from '../support/launchBot.ts';
import { usePostgres } from '../support/postgres.ts';
import { scriptRound } from '../support/scripts.ts';

/**
 * Failover (issue "Beyond one machine"): two shard processes on one PostgreSQL, each with a
 * `DATA_DIR` of its own. The process of the home server is killed with SIGKILL after a dialogue,
 * with a pending codex proposal and the fine-tune job's lock held; a new process for its shard,
 * on an empty `DATA_DIR`, carries on with nothing lost: the thread's conversation, the memory, the
 * proposal and its card's buttons; and the job's lock went to the other process.
 */

const { ALFRED } = TEST_MODELS;
const emulators = useEmulators({ per: 'test', discord: { shards: 2, maxConcurrency: 2 } });
const postgres = usePostgres();

const untilLine = (bot: LaunchedBot, match: (line: LogLine) => boolean, timeoutMs = 30_000) =>
  emulators.discord.waitFor(() => bot.lines().find(match), timeoutMs);
const connected = (line: LogLine) => line.msg === 'connected to Discord';
const leads = (line: LogLine) => line.job === 'finetune' && line.msg === 'this process runs the job';

describe('a shard process killed with SIGKILL', () => {
  it('is replaced by a process that goes on from PostgreSQL: the thread, the memory, the proposal; its job went to the other', async () => {
    const { discord, ollama, dir } = emulators;
    const home = shardOfGuild(discord.guildId, 2);
    discord.createGuild('second', { shard: [1 - home, 2] });
    const governance = discord.createChannel('governance');
    const ada = discord.createUser('ada', { roles: [discord.createRole('architect')] });
    const settings = {
      ...emulators.env,
      DATABASE_URL: await postgres.database(),
      SHARD_COUNT: '2',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      GOVERNANCE_CHANNEL_ID: governance,
      // Every second, in both processes: the database decides which one runs it.
      FINETUNE_CRON: '* * * * * *',
      AUTONOMY_CRON: '0 0 1 1 *',
    };
    const first = launchBot({ ...settings, SHARDS: String(home), DATA_DIR: join(dir, 'first') });
    await untilLine(first, connected);
    await untilLine(first, leads);
    const other = launchBot({ ...settings, SHARDS: String(1 - home), DATA_DIR: join(dir, 'other') });
    await untilLine(other, connected);
    await untilLine(other, (l) => l.job === 'finetune' && l.msg === 'another process runs the job');

    // A dialogue in the home server, remembered; and a proposal waiting for the architect.
    scriptRound(ollama, { answer: 'The capital of France is Paris.' });
    const asked = discord.userSays(ada, discord.channelId, 'What is the capital of France?', {
      mentionBot: true,
    });
    await discord.waitFor(
      () =>
        discord.messages(asked.id).some((m) => m.content === 'The capital of France is Paris.') || undefined,
      15_000,
    );
    const searchFinds = async () => {
      const search = await discord.runCommand(
        ada,
        discord.channelId,
        'memory',
        { query: 'capital of France' },
        'search',
      );
      const edit = await discord.waitFor(() => discord.interaction(search.id).edits[0], 15_000);
      return JSON.stringify(edit.embeds ?? []).includes(asked.id);
    };
    // Recorded and embedded just after the last post.
    await expect.poll(searchFinds, { timeout: 15_000, interval: 200 }).toBe(true);
    ollama.script(ALFRED, [draftAnswer(amendedCodex(emulators.env.CODEX_PATH ?? ''))]);
    const propose = await discord.runCommand(
      ada,
      discord.channelId,
      'codex',
      { note: 'ROBIN ignores money' },
      'propose',
    );
    await discord.waitFor(
      () =>
        discord
          .interaction(propose.id)
          .edits.some((e) => /Proposal p1 awaits a decision/.test(e.content ?? '')) || undefined,
      15_000,
    );

    first.child.kill('SIGKILL');
    await first.exited;
    // Its connection died with it, and its locks: the other process takes the job at its next tick.
    await untilLine(other, leads, 15_000);

    const replaced = launchBot({ ...settings, SHARDS: String(home), DATA_DIR: join(dir, 'replaced') });
    await untilLine(replaced, connected);
    // The thread goes on: the earlier exchange reaches the personas' prompts.
    scriptRound(ollama, { answer: 'About 2.1 million people.' });
    discord.userSays(ada, asked.id, 'How many people live there?');
    await discord.waitFor(
      () => discord.messages(asked.id).some((m) => m.content === 'About 2.1 million people.') || undefined,
      15_000,
    );
    const plan = ollama.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';
    expect(plan).toContain('What is the capital of France?');
    expect(plan).toContain('The capital of France is Paris.');
    // The memory, from PostgreSQL into an index this process built on an empty DATA_DIR.
    expect(await searchFinds()).toBe(true);
    // The pending proposal, and its card's buttons, answered by the new process.
    const card = discord.messages(governance).find((m) => JSON.stringify(m.embeds).includes('amendment p1'));
    expect(card).toBeDefined();
    const reject = await discord.clickButton(ada, card?.id ?? '', 'codex:reject:p1');
    const answer = await discord.waitFor(() => {
      const record = discord.interaction(reject.id);
      return (
        record.followups[0]?.content ?? record.edits.at(-1)?.content ?? record.responses[0]?.data?.content
      );
    }, 15_000);
    expect(answer).toMatch(/Rejected\. Autonomy resumes/);
    // The job stays with the process that took it over.
    expect(replaced.lines().filter(leads)).toEqual([]);

    for (const bot of [other, replaced]) bot.child.kill('SIGTERM');
    expect([await other.exited, await replaced.exited]).toEqual([0, 0]);
  }, 120_000);
});
