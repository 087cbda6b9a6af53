import { describe, expect, it } from 'vitest';
import { REST_PROXY_AGENT } from '../../src/app/sharding/restProxy.ts';
import { taskOf } from '../support/botSteps.ts';
import { judgedPersona, judgedTask, judgeWith, judgings, verdict } from '../support/curation.ts';
import { shardOfGuild } from '../support/discordEmulator.ts';
import { useEmulators } from '../support/emulators.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { launchBot } from '../support/launchBot.ts';
import { usePostgres } from '../support/postgres.ts';

/**
 * `npm start` with `SHARD_COUNT=2`: the manager starts a process per shard against the Discord
 * emulator (two servers, one in each shard), the Ollama emulator and one PostgreSQL. Each shard
 * answers the dialogue in its server, posting through the manager's REST proxy, and the scheduled
 * job runs in one of them only.
 */

const emulators = useEmulators({ per: 'test', discord: { shards: 2, maxConcurrency: 2 } });
const postgres = usePostgres();

describe('npm start with SHARD_COUNT=2', () => {
  it('answers in a server of each shard through one REST proxy, and runs curation and the fine-tune job in one process', async () => {
    const { discord, ollama } = emulators;
    const homeShard = shardOfGuild(discord.guildId, 2);
    const other = discord.createGuild('second', { shard: [1 - homeShard, 2] });
    const run = launchBot({
      ...emulators.env,
      DATABASE_URL: await postgres.database(),
      SHARD_COUNT: '2',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      // Every second, in both processes: the database decides which one runs it.
      FINETUNE_CRON: '* * * * * *',
      // Curation too, over the dialogues of both shards' servers (`all`: not only the home server's).
      CURATION_CRON: '* * * * * *',
      CURATION_SCOPE: 'all',
      // The motivator belongs to the shard that holds its channel's server (it never fires here).
      AUTONOMY_CRON: '0 0 1 1 *',
      AUTONOMY_CHANNEL_ID: other.channelId,
    });
    const connected = () => run.lines().filter((l) => l.msg === 'connected to Discord');
    await discord.waitFor(() => connected().length === 2 || undefined, 30_000);
    expect(
      connected()
        .map((l) => l.shard)
        .sort(),
    ).toEqual(['0', '1']);
    expect(discord.connectedShards.sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);

    const user = discord.createUser('bob');
    // Answered by what is asked, not by a script: the judge (ALFRED's model) may ask between the
    // turns of a dialogue, and must not take a persona's scripted answer.
    judgeWith(
      ollama,
      () => verdict(5),
      (request) => {
        const prompt = request.messages[1]?.content ?? '';
        if (request.model === TEST_MODELS.ROBIN) return 'ok\nDISSONANCE: 0.1';
        if (request.model === TEST_MODELS.BRICK) return 'thesis';
        const from = /Hello from (\d+)/.exec(taskOf(prompt))?.[1];
        return /Final draft/.test(prompt) ? `the answer in ${from}` : 'plan';
      },
    );
    for (const channelId of [discord.channelId, other.channelId]) {
      const asked = discord.userSays(user, channelId, `Hello from ${channelId}`, { mentionBot: true });
      // The thread started on the message has its id; the answer is the last persona turn, by webhook.
      await discord.waitFor(
        () =>
          discord
            .messages(asked.id)
            .some((m) => m.webhook_id && m.content === `the answer in ${channelId}`) || undefined,
        15_000,
      );
    }
    // Everything the shards sent Discord came through the manager's REST proxy.
    const fromBot = discord.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/api/'));
    expect(fromBot.length).toBeGreaterThan(8);
    expect(fromBot.filter((r) => !r.userAgent?.includes(REST_PROXY_AGENT))).toEqual([]);

    // One curation for the two: each dialogue judged once per persona, by the process that runs it.
    const judged = () => judgings(ollama).map((r) => `${judgedTask(r)} ${judgedPersona(r)}`);
    await discord.waitFor(() => judged().length >= 6 || undefined, 15_000);
    // Two more runs finished after the sixth judging: the second began after it, and judged
    // nothing again; and the other process ticked and left the job alone.
    const runs = () => run.lines().filter((l) => l.msg === 'curation run finished').length;
    const after = runs() + 2;
    await discord.waitFor(
      () =>
        (runs() >= after &&
          run.lines().some((l) => l.job === 'curation' && l.msg === 'another process runs the job')) ||
        undefined,
      15_000,
    );
    expect(judged().sort()).toEqual(
      [discord.channelId, other.channelId]
        .flatMap((id) => ['ALFRED', 'BRICK', 'ROBIN'].map((persona) => `Hello from ${id} ${persona}`))
        .sort(),
    );
    const curating = run.lines().filter((l) => l.job === 'curation' && l.msg === 'this process runs the job');
    expect(curating).toHaveLength(1);

    // The fine-tune job ticks in both processes; one leads it and runs it, the other says so.
    const said = (msg: string) => run.lines().filter((l) => l.job === 'finetune' && l.msg === msg);
    await discord.waitFor(
      () =>
        (said('this process runs the job').length && said('another process runs the job').length) ||
        undefined,
      10_000,
    );
    expect(said('this process runs the job')).toHaveLength(1);
    expect(said('another process runs the job')).toHaveLength(1);
    const leader = said('this process runs the job')[0]?.shard;
    const statusIn = async (channelId: string) => {
      const asked = await discord.runCommand(user, channelId, 'status');
      const reply = await discord.waitFor(() => discord.interaction(asked.id).edits[0], 15_000);
      const fields = (reply.embeds?.[0]?.fields ?? []) as Array<{ name: string; value: string }>;
      return fields.find((f) => f.name === 'Autonomy')?.value ?? '';
    };
    const byShard =
      homeShard === 0 ? [discord.channelId, other.channelId] : [other.channelId, discord.channelId];
    const [zero, one] = [await statusIn(byShard[0] ?? ''), await statusIn(byShard[1] ?? '')];
    const [leading, following] = leader === '0' ? [zero, one] : [one, zero];
    expect(leading).toMatch(
      /`finetune` \(`\* \* \* \* \* \*`\) · last ok <t:\d+:R>: no persona has 200 new golden samples yet/,
    );
    expect(following).toContain('`finetune` (`* * * * * *`) · runs in another process');
    const [home, second] = homeShard === 0 ? [zero, one] : [one, zero];
    expect(second).toContain('`motivator`');
    expect(home).not.toContain('`motivator`');

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(
      run
        .lines()
        .filter((l) => l.msg === 'stopped cleanly')
        .map((l) => l.shard)
        .sort(),
    ).toEqual(['0', '1']);
    expect(run.output()).not.toContain(discord.token);
  }, 60_000);
});
