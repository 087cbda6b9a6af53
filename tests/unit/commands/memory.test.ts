import type { InteractionEditReplyOptions } from 'discord.js';
import { describe, expect, it } from 'vitest';
import memoryCommand, { type MemoryCommandPorts, threadIdFrom } from '../../../commands/memory.ts';
import type { Check } from '../../../src/bot/access/architects.ts';
import type { CommandCall } from '../../../src/bot/interactions/command.ts';
import type { StoredRecord } from '../../../src/services/memory/interactionLog.ts';

const THREAD = '123456789012345678';

const record = (userId: string): StoredRecord => ({
  seq: 1,
  id: `r-${userId}`,
  conversationId: THREAD,
  run: 1,
  task: 'task',
  answer: 'answer',
  turns: [],
  models: [],
  trajectory: [],
  finalDissonance: null,
  userId,
  guildId: 'g1',
  codexVersion: 1,
  startedAt: 0,
  finishedAt: 0,
  embedded: true,
});

/** `/memory forget thread:<THREAD>` from `userId`, and what it replied. */
function forgetCall(userId: string) {
  const replies: string[] = [];
  const call: CommandCall = {
    commandName: 'memory',
    user: { id: userId, username: userId },
    guildId: 'g1',
    channelId: 'c1',
    options: {
      getSubcommand: () => 'forget',
      getString: (name: string) => (name === 'thread' ? THREAD : ''),
      getInteger: () => 0,
    },
    reply: async () => undefined,
    editReply: async (options: InteractionEditReplyOptions) => {
      replies.push(String(options.content ?? ''));
    },
  };
  return { call, replies };
}

/** The ports /memory uses, as fakes that record what was forgotten. */
function ports(records: StoredRecord[], verdict: Check) {
  const forgotten: string[] = [];
  const fakes: MemoryCommandPorts = {
    memory: {
      recall: async () => [],
      records: () => records,
      forget: async (id) => {
        forgotten.push(`memory:${id}`);
        return records;
      },
    },
    curation: {
      forget: async (ids) => {
        forgotten.push(`golden:${ids.join(',')}`);
        return { removed: { BRICK: { samples: ids.length, anchor: 0 } }, total: ids.length };
      },
    },
    dialogue: {
      forget: async (id) => {
        forgotten.push(`conversation:${id}`);
      },
    },
    amendments: {
      forgetEvidence: (ids) => {
        forgotten.push(`evidence:${ids.join(',')}`);
        return [];
      },
    },
    architects: { check: async () => verdict },
    access: { reader: () => async (place) => place === 'c1' },
  };
  return { fakes, forgotten };
}

describe('/memory forget, built from narrow fakes', () => {
  it('forgets the asker’s own dialogue without asking for the architect', async () => {
    const { fakes, forgotten } = ports([record('alice')], { ok: false, code: 'NOT_ARCHITECT', reason: 'no' });
    const { call, replies } = forgetCall('alice');
    await memoryCommand.execute(call, fakes);
    expect(forgotten).toEqual([
      'golden:r-alice',
      'evidence:r-alice',
      `memory:${THREAD}`,
      `conversation:${THREAD}`,
    ]);
    expect(replies).toEqual([
      `Forgotten: 1 dialogue from <#${THREAD}> — the records, their vectors, the conversation state and 1 golden sample (BRICK 1).`,
    ]);
  });

  it('refuses someone else’s dialogue to a member who is not an architect', async () => {
    const refusal: Check = {
      ok: false,
      code: 'NOT_ARCHITECT',
      reason: 'Only members with the **architect** role can do this.',
    };
    const { fakes, forgotten } = ports([record('alice')], refusal);
    const { call, replies } = forgetCall('mallory');
    await memoryCommand.execute(call, fakes);
    expect(forgotten).toEqual([]);
    expect(replies[0]).toMatch(
      /other people's dialogues\. You can forget your own; only members with the \*\*architect\*\* role/,
    );
  });

  it('lets an architect forget anyone’s dialogue', async () => {
    const { fakes, forgotten } = ports([record('alice'), record('bob')], { ok: true });
    const { call } = forgetCall('carol');
    await memoryCommand.execute(call, fakes);
    expect(forgotten).toHaveLength(4);
  });

  it('reads a thread from an id, a mention or a link', () => {
    expect(threadIdFrom(THREAD)).toBe(THREAD);
    expect(threadIdFrom(`<#${THREAD}>`)).toBe(THREAD);
    expect(threadIdFrom(`https://discord.com/channels/1/${THREAD}`)).toBe(THREAD);
    expect(threadIdFrom('not a thread')).toBeUndefined();
  });
});
