import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/bot/interactions/command.ts';
import { UNREACHABLE_IN_PUBLIC, unreachableError } from '../../src/services/llm/ollamaErrors.ts';
import { architect, personaPosts } from '../support/botSteps.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { OLLAMA_EMULATOR_VERSION } from '../support/ollamaEmulator.ts';
import { closedPort, registerTool } from '../support/scripts.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

const { BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness();

describe('slash commands', () => {
  it('/ask starts a thread and runs the dialogue there', async () => {
    const h = await bot.start();
    h.scriptRound('ask');
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'ask', {
      task: 'Name a good cat',
    });
    const thread = await h.discord.waitFor(() => h.discord.threads()[0]);
    await h.discord.waitFor(() => personaPosts(h, thread.id).length >= 4 || undefined, 10_000);
    expect(thread.name).toBe('Name a good cat');
    expect(h.discord.interaction(interaction.id).responses[0]?.data?.content).toContain(thread.id);
    expect(h.discord.messages(thread.id)[0]?.content).toBe('**alice asked:** Name a good cat');
  });

  it('/personas lists each persona with role, model and principles', async () => {
    const h = await bot.start();
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'personas');
    const response = await h.discord.waitFor(() => h.discord.interaction(interaction.id).responses[0]);
    const fields = response.data.embeds[0].fields as Array<{ name: string; value: string }>;
    expect(fields.map((f) => f.name)).toEqual(['ALFRED', 'BRICK', 'ROBIN']);
    expect(fields[1]?.value).toContain(BRICK);
    expect(fields[1]?.value).toMatch(/3 principles/);
  });

  it('/status reports Ollama, the persona models, the queue and uptime', async () => {
    const h = await bot.start();
    h.ollama.models.delete(ROBIN);
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const edit = await h.discord.waitFor(() => h.discord.interaction(interaction.id).edits[0]);
    expect(h.discord.interaction(interaction.id).responses[0]).toMatchObject({
      type: 5,
      data: { flags: 64 },
    });
    const text = JSON.stringify(edit.embeds);
    expect(text).toContain(`Ollama ${OLLAMA_EMULATOR_VERSION}`);
    expect(text).toContain(`not pulled: \`ollama pull ${ROBIN}\``);
    expect(text).toMatch(/0 running, 0 queued/);
    expect(text).toMatch(/Active threads: 0/);
    expect(text).toMatch(/0 dialogues remembered/);
    // Where the host keeps Ollama and the data is for the architect only.
    expect(text).not.toContain(h.runtime.config.ollamaHost);
    expect(text).not.toContain(h.runtime.config.dataDir);
    const architect = h.discord.createUser('ada', { roles: [h.discord.createRole('architect')] });
    const asArchitect = await h.discord.runCommand(architect, h.discord.channelId, 'status');
    const details = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).edits[0])).embeds,
    );
    expect(details).toContain(`Ollama ${OLLAMA_EMULATOR_VERSION} at ${h.runtime.config.ollamaHost}`);
    expect(details).toContain(h.runtime.config.dataDir);
  });

  it('refuses an architect-only command to a member without the role, server side', async () => {
    const calls: string[] = [];
    const govern: Command = {
      data: { name: 'govern', description: 'An architect-only test command' },
      architectOnly: true,
      async execute(interaction) {
        calls.push(interaction.user.id);
        await interaction.reply({ content: 'governed' });
      },
    };
    const h = await bot.start({ extraCommands: [govern] });
    const role = h.discord.createRole('architect');
    const architect = h.discord.createUser('ada', { roles: [role] });

    const denied = await h.discord.runCommand(h.userId, h.discord.channelId, 'govern');
    const refusal = await h.discord.waitFor(() => h.discord.interaction(denied.id).responses[0]);
    expect(refusal).toMatchObject({
      type: 4,
      data: { flags: 64, content: expect.stringMatching(/architect/) },
    });

    const allowed = await h.discord.runCommand(architect, h.discord.channelId, 'govern');
    await h.discord.waitFor(() => h.discord.interaction(allowed.id).responses[0]);
    expect(calls).toEqual([architect]);
  });

  it('turns a failing command into an ephemeral error reply', async () => {
    const broken: Command = {
      data: { name: 'broken', description: 'Always fails' },
      defer: 'public',
      async execute() {
        throw new Error('kaboom');
      },
    };
    const h = await bot.start({ extraCommands: [broken] });
    const interaction = await h.discord.runCommand(h.userId, h.discord.channelId, 'broken');
    const reply = await h.discord.waitFor(() => h.discord.interaction(interaction.id).followups[0]);
    expect(reply.content).toMatch(/Something went wrong on my side \(incident `[0-9a-f]{8}`\)/);
    expect(reply.content).not.toContain('kaboom');
    expect(reply.flags).toBe(64);
  });

  it("tells a member what failed without the server's address; an architect sees it, privately", async () => {
    const unreachable: Command = {
      data: { name: 'unreachable', description: 'Fails as when Ollama is down' },
      defer: 'public',
      async execute() {
        throw unreachableError('http://10.9.8.7:11434');
      },
    };
    const h = await bot.start({ extraCommands: [unreachable] });
    const asMember = await h.discord.runCommand(h.userId, h.discord.channelId, 'unreachable');
    const member = await h.discord.waitFor(() => h.discord.interaction(asMember.id).followups[0]);
    expect(member.content).toBe(`⚠️ ${UNREACHABLE_IN_PUBLIC} (I tried again a few times first.)`);
    expect(member.content).not.toMatch(/10\.9\.8\.7|11434/);

    const asArchitect = await h.discord.runCommand(architect(h), h.discord.channelId, 'unreachable');
    const detail = await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).followups[0]);
    expect(detail.flags).toBe(64);
    expect(detail.content).toContain('cannot reach Ollama at http://10.9.8.7:11434');
  });

  it('/status shows a member that Ollama is down without its address; an architect sees where', async () => {
    const port = await closedPort();
    const h = await bot.start({ env: { OLLAMA_HOST: `http://127.0.0.1:${port}` } });
    const asMember = await h.discord.runCommand(h.userId, h.discord.channelId, 'status');
    const member = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asMember.id).edits[0])).embeds,
    );
    expect(member).toContain('❌ cannot reach Ollama');
    expect(member).not.toContain(`127.0.0.1:${port}`);
    expect(member).not.toContain(h.runtime.config.dataDir);

    const asArchitect = await h.discord.runCommand(architect(h), h.discord.channelId, 'status');
    const details = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).edits[0])).embeds,
    );
    expect(details).toContain(`cannot reach Ollama at http://127.0.0.1:${port}`);
  });
});

describe('/help and autocomplete', () => {
  it('/help lists what a member may use, and more for the architect', async () => {
    const h = await bot.start();
    const member = await h.discord.runCommand(h.userId, h.discord.channelId, 'help');
    const memberHelp = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(member.id).responses[0])).data,
    );
    expect(memberHelp).toContain('Mention me with a task');
    expect(memberHelp).toContain('/memory search');
    expect(memberHelp).toContain('/finetune status');
    // The older name /forge works but is not listed.
    expect(memberHelp).not.toContain('/forge');
    expect(memberHelp).not.toContain('/finetune run');
    expect(memberHelp).not.toContain('/codex propose');
    const architect = h.discord.createUser('ada', { roles: [h.discord.createRole('architect')] });
    const asArchitect = await h.discord.runCommand(architect, h.discord.channelId, 'help');
    const architectHelp = JSON.stringify(
      (await h.discord.waitFor(() => h.discord.interaction(asArchitect.id).responses[0])).data,
    );
    expect(architectHelp).toMatch(/\/finetune run\*\* — .*\(architect\)/);
    expect(architectHelp).toMatch(/\/tools forge\*\* — .*\(architect\)/);
    expect(architectHelp).toContain('/codex propose');
  });

  it('completes persona names, their model versions, tool names and codex versions', async () => {
    const h = await bot.start();
    const choicesOf = async (
      name: string,
      options: Record<string, string | number>,
      focused: string,
      sub: string,
    ) => {
      const interaction = await h.discord.runAutocomplete(
        h.userId,
        h.discord.channelId,
        name,
        options,
        focused,
        sub,
      );
      const response = await h.discord.waitFor(() => h.discord.interaction(interaction.id).responses[0]);
      expect(response.type).toBe(8);
      return (response.data as { choices: Array<{ name: string; value: string | number }> }).choices;
    };
    const personas = await choicesOf('finetune', { persona: 'ro' }, 'persona', 'run');
    expect(personas[0]).toEqual({ name: `ROBIN (${ROBIN})`, value: 'ROBIN' });
    expect(personas.map((c) => c.value).sort()).toEqual(['ALFRED', 'BRICK', 'ROBIN']);
    expect(await choicesOf('forge', { persona: 'ROBIN', version: '' }, 'version', 'rollback')).toEqual([
      { name: `0 · ${ROBIN} (the codex's own)`, value: 0 },
    ]);
    await registerTool(h.runtime.tools.registry);
    expect(await choicesOf('tools', { name: 'wo' }, 'name', 'show')).toEqual([
      { name: 'word_count (v1)', value: 'word_count' },
    ]);
    expect(await choicesOf('codex', { version: '' }, 'version', 'rollback')).toEqual([]);
  });
});
