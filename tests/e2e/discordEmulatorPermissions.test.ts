import { ChannelType, PermissionFlagsBits, type TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MEMBER_PERMISSIONS, Permission } from '../support/discordEmulator.ts';
import {
  apiError,
  type EmulatorClientHarness,
  rawApi,
  startEmulatorClient,
} from '../support/discordEmulatorHarness.ts';

let harness: EmulatorClientHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('DiscordEmulator channel permissions', () => {
  it('delivers overwrites that discord.js computes exactly as the emulator does', async () => {
    harness = await startEmulatorClient();
    const { emulator, client } = harness;
    const staff = emulator.createRole('staff');
    const alice = emulator.createUser('alice');
    const bob = emulator.createUser('bob', { roles: [staff] });
    const staffRoom = emulator.createChannel('staff-room', {
      overwrites: [
        { id: emulator.guildId, deny: Permission.ViewChannel },
        { id: staff, allow: Permission.ViewChannel | Permission.ManageMessages },
        { id: emulator.botUserId, allow: Permission.ViewChannel },
        { id: bob, deny: Permission.AttachFiles },
      ],
    });
    const channel = await emulator.waitFor(
      () => client.channels.cache.get(staffRoom) as TextChannel | undefined,
    );
    const guild = channel.guild;
    const members = {
      alice: await guild.members.fetch(alice),
      bob: await guild.members.fetch(bob),
      bot: await guild.members.fetch(emulator.botUserId),
    };
    expect([...members.bob.roles.cache.keys()].sort()).toEqual(
      [emulator.guildId, emulator.memberRoleId, staff].sort(),
    );

    for (const [name, member] of Object.entries(members)) {
      expect([name, channel.permissionsFor(member).bitfield]).toEqual([
        name,
        emulator.channelPermissions(member.id, staffRoom),
      ]);
    }
    expect(channel.permissionsFor(members.alice).has(PermissionFlagsBits.ViewChannel)).toBe(false);
    expect(channel.permissionsFor(members.bob).has(PermissionFlagsBits.ManageMessages)).toBe(true);
    expect(channel.permissionsFor(members.bob).has(PermissionFlagsBits.AttachFiles)).toBe(false);
    expect(channel.permissionsFor(members.bot).has(PermissionFlagsBits.ViewChannel)).toBe(true);
    expect(emulator.channelPermissions(alice, emulator.channelId)).toBe(DEFAULT_MEMBER_PERMISSIONS);

    const thread = await channel.threads.create({ name: 'inner circle', type: ChannelType.PublicThread });
    expect(thread.permissionsFor(members.alice)?.has(PermissionFlagsBits.ViewChannel)).toBe(false);
    expect(emulator.channelPermissions(alice, thread.id) & Permission.ViewChannel).toBe(0n);
    expect(emulator.channelPermissions(bob, thread.id) & Permission.ViewChannel).toBe(Permission.ViewChannel);
  });

  it('hides a channel from a member: discord.js sees it, and the driver refuses to let them act there', async () => {
    harness = await startEmulatorClient();
    const { emulator, channel, messages } = harness;
    const alice = emulator.createUser('alice');
    const bob = emulator.createUser('bob');
    const aliceMember = await channel.guild.members.fetch(alice);
    expect(channel.permissionsFor(aliceMember).has(PermissionFlagsBits.ViewChannel)).toBe(true);

    emulator.hideChannelFrom(emulator.channelId, alice);
    await emulator.waitFor(() => !channel.permissionsFor(aliceMember).has(PermissionFlagsBits.ViewChannel));
    expect(() => emulator.userSays(alice, emulator.channelId, 'can I?')).toThrow(/alice lacks ViewChannel/);
    await expect(emulator.runCommand(alice, emulator.channelId, 'ask')).rejects.toThrow(/runCommand/);
    const card = await channel.send({
      content: 'Approve?',
      components: [{ type: 1, components: [{ type: 2, style: 1, label: 'OK', custom_id: 'ok' }] }],
    });
    await expect(emulator.clickButton(alice, card.id, 'ok')).rejects.toThrow(/clickButton/);

    const said = emulator.userSays(bob, emulator.channelId, 'I still can');
    await emulator.waitFor(() => messages.find((m) => m.id === said.id));
    const record = await emulator.runCommand(bob, emulator.channelId, 'ask');
    const interaction = await emulator.waitFor(() => harness?.interactions[0]);
    expect(interaction.id).toBe(record.id);
    expect(interaction.memberPermissions?.has(PermissionFlagsBits.ViewChannel)).toBe(true);
    expect(interaction.appPermissions.has(PermissionFlagsBits.ManageWebhooks)).toBe(true);
  });

  it('keeps messages of a channel hidden from the bot off its gateway and its REST history', async () => {
    harness = await startEmulatorClient();
    const { emulator, messages } = harness;
    const secret = emulator.createChannel('secret');
    emulator.hideChannelFrom(secret, emulator.guildId);
    const hidden = emulator.userSays(emulator.ownerId, secret, 'only humans here', { mentionBot: true });
    const visible = emulator.userSays(emulator.ownerId, emulator.channelId, 'hello bot', {
      mentionBot: true,
    });
    await emulator.waitFor(() => messages.find((m) => m.id === visible.id));
    expect(messages.map((m) => m.id)).toEqual([visible.id]);
    expect(emulator.events.find((e) => (e.d as { id?: string }).id === hidden.id)?.sessions).toEqual([]);
    const refused = await rawApi(emulator, 'GET', `/channels/${secret}/messages`);
    expect([refused.status, refused.body.code]).toEqual([403, 50001]);

    emulator.setChannelOverwrite(secret, emulator.botUserId, { allow: Permission.ViewChannel });
    const history = await rawApi(emulator, 'GET', `/channels/${secret}/messages`);
    expect(history.body.map((m: { id: string }) => m.id)).toEqual([hidden.id]);
  });

  it('lets the bot edit overwrites over REST only with Manage Roles', async () => {
    harness = await startEmulatorClient();
    const { emulator, channel } = harness;
    const alice = emulator.createUser('alice');
    const member = await channel.guild.members.fetch(alice);
    const denied = await apiError(channel.permissionOverwrites.edit(member, { ViewChannel: false }));
    expect([denied.status, denied.code]).toEqual([403, 50013]);

    emulator.setBotPermissions(emulator.botPermissions | Permission.ManageRoles);
    await emulator.waitFor(() => channel.guild.members.me?.permissions.has(PermissionFlagsBits.ManageRoles));
    await channel.permissionOverwrites.edit(member, { ViewChannel: false });
    expect(emulator.channelPermissions(alice, channel.id) & Permission.ViewChannel).toBe(0n);
    await emulator.waitFor(() => channel.permissionOverwrites.cache.get(alice)?.deny.has('ViewChannel'));
    await channel.permissionOverwrites.delete(member);
    expect(emulator.channelPermissions(alice, channel.id)).toBe(DEFAULT_MEMBER_PERMISSIONS);
  });
  it('shows a private thread to its members and to those who manage threads, and answers who is in it', async () => {
    harness = await startEmulatorClient();
    const { emulator, client } = harness;
    const moderators = emulator.createRole('moderators', { permissions: Permission.ManageThreads });
    const alice = emulator.createUser('alice');
    const bob = emulator.createUser('bob');
    const mod = emulator.createUser('mod', { roles: [moderators] });
    const whisper = emulator.userStartsThread(alice, emulator.channelId, 'just us', {
      private: true,
      members: [emulator.botUserId],
    });
    const view = (userId: string) => emulator.channelPermissions(userId, whisper) & Permission.ViewChannel;
    expect([view(alice), view(bob), view(mod)]).toEqual([Permission.ViewChannel, 0n, Permission.ViewChannel]);
    expect(() => emulator.userSays(bob, whisper, 'let me in')).toThrow(/bob lacks ViewChannel/);

    // The bot asks Discord whether someone is in it: 404 Unknown Member until they are added.
    const thread = await emulator.waitFor(() => client.channels.cache.get(whisper));
    if (!thread?.isThread()) throw new Error('not a thread');
    expect((await thread.members.fetch({ member: alice, force: true })).id).toBe(alice);
    const outside = await apiError(thread.members.fetch({ member: bob, force: true }));
    expect([outside.status, outside.code]).toEqual([404, 10007]);
    emulator.setThreadMember(whisper, bob);
    expect(view(bob)).toBe(Permission.ViewChannel);
    expect((await thread.members.fetch({ member: bob, force: true })).id).toBe(bob);
    emulator.setThreadMember(whisper, bob, false);
    expect(view(bob)).toBe(0n);
  });
});
