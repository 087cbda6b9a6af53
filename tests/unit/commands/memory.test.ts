import type { InteractionEditReplyOptions } from 'discord.js';
import { describe, expect, it } from 'vitest';
import memoryCommand, {
  type MemoryCommandPorts,
  threadIdFrom,
  tracesRemoved,
} from '../../../commands/memory.ts';
import type { Check } from '../../../src/bot/access/architects.ts';
import type { CommandCall } from '../../../src/bot/interactions/command.ts';
import type { ForgetTracesReport } from '../../../src/services/forgetting/forgetting.ts';
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

/** Forgetting that found nothing beyond the thread itself, with `change` over it. */
const traces = (change: Partial<ForgetTracesReport> = {}): ForgetTracesReport => ({
  recalling: 0,
  checkpoints: 0,
  proposals: [],
  finetune: { tainted: [], examPrompts: 0, inForce: [] },
  logLines: 0,
  failed: [],
  ...change,
});

/** The ports /memory uses, as fakes that record what was forgotten. */
function ports(records: StoredRecord[], verdict: Check, found: ForgetTracesReport = traces()) {
  const forgotten: string[] = [];
  const fakes: MemoryCommandPorts = {
    memory: {
      recall: async () => [],
      records: async () => records,
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
    forgetting: {
      traces: async (id, of) => {
        forgotten.push(`traces:${id}:${of.map((r) => r.id).join(',')}`);
        return found;
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
      `memory:${THREAD}`,
      `conversation:${THREAD}`,
      `traces:${THREAD}:r-alice`,
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

  it('says where else it went: recalls, evidence, tainted fine-tunes, the model in force and its rollback, logs, failures', async () => {
    const found = traces({
      recalling: 2,
      checkpoints: 1,
      proposals: ['p1'],
      finetune: {
        tainted: [
          { id: 'ft1', persona: 'ROBIN', state: 'promoted', version: 1, lines: 2 },
          { id: 'ft2', persona: 'ROBIN', state: 'awaiting_architect', version: 2, lines: 1 },
        ],
        examPrompts: 1,
        inForce: [{ persona: 'ROBIN', version: 1, model: 'batos-robin-v1', jobId: 'ft1', rollbackTo: 0 }],
      },
      logLines: 3,
      failed: ['the log files'],
    });
    const { fakes } = ports([record('alice')], { ok: true }, found);
    const { call, replies } = forgetCall('alice');
    await memoryCommand.execute(call, fakes);
    expect(replies[0]).toBe(
      `Forgotten: 1 dialogue from <#${THREAD}> — the records, their vectors, the conversation state and 1 golden sample (BRICK 1). ` +
        'Its quotes are cut from 2 dialogues that recalled it. It is gone from the evidence of 1 proposal (p1). ' +
        'Fine-tunes ft1 (ROBIN) and ft2 (ROBIN, waiting for an architect) were trained on it: their datasets no longer hold it, and the jobs are marked tainted. ' +
        "⚠️ `batos-robin-v1`, ROBIN's model in force, learned from it: an architect can roll it back with `/finetune rollback persona:ROBIN version:0`. " +
        '3 lines left the log files. ❗ Not done: the log files; its words may remain there (the log says why).',
    );
    expect(tracesRemoved(traces())).toBe('');
    expect(tracesRemoved(traces({ finetune: { tainted: [], examPrompts: 2, inForce: [] } }))).toBe(
      '2 prompts left the fine-tune exams.',
    );
  });

  it('reads a thread from an id, a mention or a link', () => {
    expect(threadIdFrom(THREAD)).toBe(THREAD);
    expect(threadIdFrom(`<#${THREAD}>`)).toBe(THREAD);
    expect(threadIdFrom(`https://discord.com/channels/1/${THREAD}`)).toBe(THREAD);
    expect(threadIdFrom('not a thread')).toBeUndefined();
  });
});
