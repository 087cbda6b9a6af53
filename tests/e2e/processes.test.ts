import { describe, expect, it } from 'vitest';
import { composeRuntime } from '../../src/app/compose.ts';
import { loadConfig } from '../../src/services/config.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { useEmulators } from '../support/emulators.ts';
import { SHIPPED_COMMANDS } from '../support/fixtures.ts';
import { launchEntry } from '../support/launchBot.ts';
import { scriptRound } from '../support/scripts.ts';

/** Starts one of the package's entry points as `npm start` / `npm run …` would. */
const launch = (script: string, env: Record<string, string>) => launchEntry(script, env, 25_000);

const emulators = useEmulators({ per: 'test' });
/** The settings of this test's bot: the emulators', logging at info so that its lines can be read. */
const botEnv = () => ({ ...emulators.env, LOG_LEVEL: 'info' });

describe('npm start', () => {
  it('explains in one paragraph what to do when DISCORD_TOKEN is missing', async () => {
    const run = launch('src/app/main.ts', { ...botEnv(), DISCORD_TOKEN: '' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(
      /DISCORD_TOKEN is not set[\s\S]*developers\/applications[\s\S]*npm run chat/,
    );
  });

  it('says the token was refused when Discord rejects it (a configuration error: exit 2)', async () => {
    const run = launch('src/app/main.ts', { ...botEnv(), DISCORD_TOKEN: 'not-the-token' });
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/Discord refused DISCORD_TOKEN/);
  });

  it('connects through DISCORD_API_URL, answers a mention, and stops cleanly on SIGTERM', async () => {
    const { discord, ollama } = emulators;
    const run = launch('src/app/main.ts', botEnv());
    await discord.waitFor(() => run.output().includes('connected to Discord') || undefined, 20_000);
    scriptRound(ollama, { answer: 'answer' });
    const user = discord.createUser('bob');
    const message = discord.userSays(user, discord.channelId, 'Hello there', { mentionBot: true });
    await discord.waitFor(
      () => discord.messages(message.id).filter((m) => m.webhook_id).length >= 4 || undefined,
      15_000,
    );

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('stopped cleanly');
    // Secrets never reach the log.
    expect(run.output()).not.toContain(discord.token);
  });
});

describe('npm run deploy-commands', () => {
  it('registers every command to DISCORD_GUILD_ID', async () => {
    const { discord } = emulators;
    const run = launch('src/app/cli/deployCommands.ts', { ...botEnv(), DISCORD_GUILD_ID: discord.guildId });
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(
      new RegExp(`Registered ${SHIPPED_COMMANDS.length} slash commands to server`),
    );
    expect(
      discord
        .commands(discord.guildId)
        .map((c) => c.name)
        .sort(),
    ).toEqual(SHIPPED_COMMANDS);
  });
});

describe('npm run memory:rebuild', () => {
  it('re-embeds every recorded dialogue after the embedding model changed', async () => {
    const { ollama } = emulators;
    const runtime = await composeRuntime(loadConfig(botEnv()), createSilentLogger());
    scriptRound(ollama, { answer: 'answer' });
    for await (const _ of runtime.dialogue.run({ conversationId: 'c', message: 'Remember me' })) {
      // drain
    }
    await runtime.close();
    ollama.dimension = 48;

    const run = launch('src/app/cli/rebuildMemory.ts', botEnv());

    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/Rebuilt the memory index: 1 dialogues/);
    const after = await composeRuntime(loadConfig(botEnv()), createSilentLogger());
    expect(await after.memory.stats()).toMatchObject({ dialogues: 1, vectors: 1, pending: 0 });
    expect(await after.memory.recall('Remember me', { floor: 0 })).toHaveLength(1);
    await after.close();
  });
});
