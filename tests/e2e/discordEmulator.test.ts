import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
} from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BOT_PERMISSIONS, type DiscordEmulatorOptions } from '../support/discordEmulator.ts';
import {
  apiError,
  type EmulatorClientHarness,
  startEmulatorClient,
} from '../support/discordEmulatorHarness.ts';

let harness: EmulatorClientHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(options: DiscordEmulatorOptions = {}): Promise<EmulatorClientHarness> {
  harness = await startEmulatorClient(options);
  return harness;
}

describe('DiscordEmulator with the real discord.js client', () => {
  it('logs in quickly with the guild, its channel and the bot permissions cached', async () => {
    const startedAt = Date.now();
    const { client, emulator, channel } = await start();
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(client.user?.id).toBe(emulator.botUserId);
    expect(client.application?.id).toBe(emulator.applicationId);
    const guild = client.guilds.cache.get(emulator.guildId);
    expect(guild?.available).toBe(true);
    expect(channel.name).toBe('general');
    expect(channel.type).toBe(ChannelType.GuildText);
    expect(guild?.members.me?.permissions.has(PermissionFlagsBits.ManageWebhooks)).toBe(true);
    expect(channel.permissionsFor(client.user!)?.has(PermissionFlagsBits.CreatePublicThreads)).toBe(true);
    expect(emulator.unknownRoutes()).toEqual([]);
  });

  it('rejects REST calls without the bot token', async () => {
    const { emulator } = await start();
    const response = await fetch(`${emulator.apiUrl}/v10/users/@me`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 0, message: '401: Unauthorized' });
  });

  it('delivers a user message that mentions the bot, with a downloadable attachment', async () => {
    const { client, emulator, messages } = await start();
    const alice = emulator.createUser('alice');
    emulator.userSays(alice, emulator.channelId, 'hello there', {
      mentionBot: true,
      attachments: [{ filename: 'notes.txt', content: 'some notes' }],
    });
    const message = await emulator.waitFor(() => messages[0]);
    expect(message.content).toBe(`<@${emulator.botUserId}> hello there`);
    expect(message.mentions.has(client.user!)).toBe(true);
    expect(message.author.id).toBe(alice);
    expect(message.member?.id).toBe(alice);
    const attachment = message.attachments.first();
    expect(attachment?.name).toBe('notes.txt');
    expect(await (await fetch(attachment!.url)).text()).toBe('some notes');
  });

  it('starts a thread, creates a webhook and posts into the thread as a persona', async () => {
    const { emulator, messages, channel } = await start();
    const alice = emulator.createUser('alice');
    const said = emulator.userSays(alice, emulator.channelId, 'debate this');
    const message = await emulator.waitFor(() => messages.find((m) => m.id === said.id));

    const thread = await message.startThread({ name: 'Debate' });
    expect(thread.id).toBe(said.id);
    expect(emulator.threads()).toMatchObject([
      { id: said.id, name: 'Debate', parent_id: emulator.channelId },
    ]);
    expect((await apiError(message.startThread({ name: 'again' }))).code).toBe(160004);

    expect((await channel.fetchWebhooks()).size).toBe(0);
    const webhook = await channel.createWebhook({ name: 'personas' });
    expect((await channel.fetchWebhooks()).map((w) => w.id)).toEqual([webhook.id]);
    const sent = await webhook.send({
      content: 'I am ALFRED @everyone',
      username: 'ALFRED',
      avatarURL: 'https://example.invalid/alfred.png',
      threadId: thread.id,
      allowedMentions: { parse: [] },
    });

    const stored = emulator.messages(thread.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id: sent.id,
      webhook_id: webhook.id,
      author: { username: 'ALFRED', bot: true },
      avatar_url: 'https://example.invalid/alfred.png',
      allowed_mentions: { parse: [] },
      mention_everyone: false,
    });
    const echo = await emulator.waitFor(() => messages.find((m) => m.id === sent.id));
    expect(echo.webhookId).toBe(webhook.id);
    expect(echo.channelId).toBe(thread.id);
    expect(echo.author.username).toBe('ALFRED');
    expect(emulator.unknownRoutes()).toEqual([]);
  });

  it('answers a 429 from failNext that discord.js retries after Retry-After', async () => {
    const { emulator, channel } = await start();
    const webhook = await channel.createWebhook({ name: 'personas' });
    emulator.failNext({
      method: 'POST',
      path: /^\/api\/v10\/webhooks\/\d+\/[^/]+$/,
      status: 429,
      retryAfter: 0.1,
    });
    const sent = await webhook.send({ content: 'after the retry', username: 'BRICK' });
    expect(sent.content).toBe('after the retry');
    const executes = emulator.requests.filter(
      (r) => r.method === 'POST' && r.path.startsWith('/api/v10/webhooks/'),
    );
    expect(executes.map((r) => r.status)).toEqual([429, 200]);
    expect(executes[1]!.at - executes[0]!.at).toBeGreaterThanOrEqual(100);
  });

  it('paces webhook executes by its rate-limit headers', async () => {
    const { emulator, channel } = await start();
    emulator.setWebhookRateLimit(2, 300);
    const webhook = await channel.createWebhook({ name: 'personas' });
    const startedAt = Date.now();
    for (const content of ['one', 'two', 'three']) await webhook.send({ content });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(emulator.messages(emulator.channelId).map((m) => m.content)).toEqual(['one', 'two', 'three']);
  });

  it('enforces Discord limits: 2000 characters, empty messages, missing permissions', async () => {
    const { client, emulator, channel } = await start();
    const tooLong = await apiError(channel.send('x'.repeat(2001)));
    expect(tooLong.status).toBe(400);
    expect(tooLong.code).toBe(50035);
    expect((await apiError(client.rest.post(Routes.channelMessages(channel.id), { body: {} }))).code).toBe(
      50006,
    );

    emulator.setBotPermissions(DEFAULT_BOT_PERMISSIONS & ~PermissionFlagsBits.ManageWebhooks);
    const guild = client.guilds.cache.get(emulator.guildId)!;
    await emulator.waitFor(() => !guild.members.me?.permissions.has(PermissionFlagsBits.ManageWebhooks));
    const denied = await apiError(channel.fetchWebhooks());
    expect([denied.status, denied.code]).toEqual([403, 50013]);
  });

  it('sends multipart messages with files and edits them', async () => {
    const { emulator, channel, messages } = await start();
    const sent = await channel.send({
      content: 'report',
      files: [{ attachment: Buffer.from('a,b\n'), name: 'r.csv' }],
    });
    const stored = emulator.messages(emulator.channelId)[0]!;
    expect(stored.attachments).toMatchObject([{ filename: 'r.csv', size: 4 }]);
    expect(await (await fetch(stored.attachments[0]!.url)).text()).toBe('a,b\n');
    await emulator.waitFor(() => messages.find((m) => m.id === sent.id));
    const edited = await sent.edit('report v2');
    expect(edited.content).toBe('report v2');
    expect(emulator.messages(emulator.channelId)[0]?.content).toBe('report v2');
  });

  it('delivers slash commands and records ephemeral replies', async () => {
    const { client, emulator, interactions } = await start();
    const [registered] = (
      await client.application!.commands.set(
        [
          {
            name: 'ask',
            description: 'Ask the personas',
            options: [{ name: 'task', description: 'what to do', type: 3, required: true }],
          },
        ],
        emulator.guildId,
      )
    ).values();
    const alice = emulator.createUser('alice');
    const record = await emulator.runCommand(alice, emulator.channelId, 'ask', { task: 'name a cat' });
    const interaction = await emulator.waitFor(() => interactions[0]);
    if (!interaction.isChatInputCommand()) throw new Error('expected a chat input command');
    expect(interaction.commandId).toBe(registered?.id);
    expect(interaction.options.getString('task')).toBe('name a cat');
    expect(interaction.user.id).toBe(alice);
    await interaction.reply({ content: 'only you can see this', flags: MessageFlags.Ephemeral });
    expect(emulator.interaction(record.id).responses).toEqual([
      { type: 4, data: expect.objectContaining({ content: 'only you can see this', flags: 64 }) },
    ]);
    expect(emulator.messages(emulator.channelId)).toEqual([]);
    const again = await apiError(
      client.rest.post(Routes.interactionCallback(record.id, record.token), {
        body: { type: 4, data: { content: 'twice' } },
        auth: false,
      }),
    );
    expect(again.code).toBe(40060);
  });

  it('supports deferred replies, edits of @original and follow-ups', async () => {
    const { emulator, interactions, messages } = await start();
    const alice = emulator.createUser('alice');
    const record = await emulator.runCommand(alice, emulator.channelId, 'status');
    const interaction = await emulator.waitFor(() => interactions[0]);
    if (!interaction.isChatInputCommand()) throw new Error('expected a chat input command');
    await interaction.deferReply();
    await interaction.editReply('all good');
    await interaction.followUp('one more thing');
    expect(record.responses.map((r) => r.type)).toEqual([5]);
    expect(record.edits).toMatchObject([{ content: 'all good' }]);
    expect(record.followups).toMatchObject([{ content: 'one more thing' }]);
    expect(emulator.messages(emulator.channelId).map((m) => m.content)).toEqual([
      'all good',
      'one more thing',
    ]);
    await emulator.waitFor(() => messages.length === 2);
  });

  it('delivers button clicks and records the message update', async () => {
    const { emulator, interactions, channel } = await start();
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('approve').setLabel('Approve').setStyle(ButtonStyle.Success),
    );
    const card = await channel.send({ content: 'Approve?', components: [row] });
    const alice = emulator.createUser('alice');
    const record = await emulator.clickButton(alice, card.id, 'approve');
    const interaction = await emulator.waitFor(() => interactions[0]);
    if (!interaction.isButton()) throw new Error('expected a button interaction');
    expect(interaction.customId).toBe('approve');
    expect(interaction.message.id).toBe(card.id);
    await interaction.update({ content: 'Approved', components: [] });
    expect(record.responses).toMatchObject([{ type: 7, data: { content: 'Approved' } }]);
    expect(emulator.message(card.id)).toMatchObject({ content: 'Approved', components: [] });
  });

  it('answers 10015 for a deleted webhook', async () => {
    const { emulator, channel } = await start();
    const webhook = await channel.createWebhook({ name: 'personas' });
    emulator.deleteWebhook(webhook.id);
    expect((await apiError(webhook.send('hello'))).code).toBe(10015);
  });

  it('blanks content without the Message Content intent unless the bot is mentioned', async () => {
    const { emulator, messages } = await start({ messageContentIntent: false });
    const alice = emulator.createUser('alice');
    emulator.userSays(alice, emulator.channelId, 'not for you');
    emulator.userSays(alice, emulator.channelId, 'for you', { mentionBot: true });
    await emulator.waitFor(() => messages.length === 2);
    expect(messages.map((m) => m.content)).toEqual(['', `<@${emulator.botUserId}> for you`]);
  });

  it('delivers DMs and lets the bot answer them', async () => {
    const { emulator, messages } = await start();
    const alice = emulator.createUser('alice');
    const dm = emulator.userDMs(alice, 'psst');
    const message = await emulator.waitFor(() => messages[0]);
    expect(message.guildId).toBeNull();
    expect(message.channel.type).toBe(ChannelType.DM);
    await message.reply('hi');
    expect(emulator.messages(dm.channel_id).map((m) => m.content)).toEqual(['psst', 'hi']);
  });

  it('replays events missed while the gateway was down when discord.js resumes', async () => {
    const { emulator, messages } = await start();
    const alice = emulator.createUser('alice');
    emulator.dropGateway();
    emulator.userSays(alice, emulator.channelId, 'while you were away');
    await emulator.waitFor(() => messages[0], 5000);
    expect(messages[0]?.content).toBe('while you were away');
    expect(emulator.gatewayReceived.filter((p) => p.op === 6)).toHaveLength(1);
    expect(emulator.gatewayReceived.filter((p) => p.op === 2)).toHaveLength(1);
  });
});
