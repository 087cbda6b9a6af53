import { MemorySaver } from '@langchain/langgraph';
import { describe, expect, it } from 'vitest';
import { createDialogue, type DialogueEvent, type DialogueRequest } from '../../../src/graph/dialogue.ts';
import { createEventBus } from '../../../src/services/eventBus.ts';
import type { ChatCallOptions, ChatMessage, ChatModel } from '../../../src/services/llm/chatModel.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import type { DialogueRecord } from '../../../src/services/memory/interactionLog.ts';
import type { RecallOptions } from '../../../src/services/memory/memory.ts';
import type { Persona, PersonaRegistry } from '../../../src/services/personas.ts';
import type { ToolBox, ToolForgeRequest } from '../../../src/services/tools/toolPorts.ts';
import { ManualClock } from '../../support/clock.ts';

/** A model that answers from a script, in two pieces when the call streams. */
class FakeChatModel implements ChatModel {
  constructor(
    readonly model: string,
    private readonly answers: string[],
  ) {}

  async invoke(_messages: readonly ChatMessage[], options: ChatCallOptions = {}): Promise<string> {
    const answer = this.answers.shift() ?? '(out of script)';
    const half = Math.ceil(answer.length / 2);
    options.onToken?.(answer.slice(0, half));
    options.onToken?.(answer.slice(half));
    return answer;
  }
}

function fakePersonas(): PersonaRegistry {
  const persona = (id: string): Persona => ({
    id,
    displayName: id,
    role: id,
    model: `${id.toLowerCase()}-model`,
    temperature: 0,
    options: {},
    avatarUrl: '',
    systemPrompt: `You are ${id}.`,
    principles: [],
  });
  const all = ['ALFRED', 'BRICK', 'ROBIN'].map(persona);
  return {
    get: (id) => all.find((p) => p.id === id) ?? persona(id),
    has: (id) => all.some((p) => p.id === id),
    list: () => all,
    corePrinciples: [],
    codexVersion: 1,
  };
}

/** Every service the graph reaches, recording where each call was scoped. */
function recordingDialogue() {
  const seen = {
    recalls: [] as RecallOptions[],
    toolGuilds: [] as Array<string | null | undefined>,
    forged: [] as ToolForgeRequest[],
    records: [] as Omit<DialogueRecord, 'id'>[],
  };
  const tools: ToolBox = {
    list: () => [],
    info: (name, scope) => {
      seen.toolGuilds.push(scope?.guildId);
      return { name, version: 1, description: 'Adds.', inputSchema: {} };
    },
    relevant: async (_query, options) => {
      seen.toolGuilds.push(options?.guildId);
      return [{ name: 'add', version: 1, description: 'Adds.', inputSchema: {} }];
    },
    call: async (_name, _input, options) => {
      seen.toolGuilds.push(options?.guildId);
      return { ok: true, result: 2, json: '2', ms: 1 };
    },
  };
  const models: Record<string, FakeChatModel> = {
    ALFRED: new FakeChatModel('alfred-model', ['A plan.', 'The answer.']),
    BRICK: new FakeChatModel('brick-model', [
      'TOOL_CALL: add {"a":1}',
      'A thesis.\nTOOL_REQUIRED: a timer',
      'Thesis two.',
    ]),
    ROBIN: new FakeChatModel('robin-model', ['An antithesis.\nDISSONANCE: 0.9', 'Agreed.\nDISSONANCE: 0.1']),
  };
  const dialogue = createDialogue({
    modelFor: (id) => models[id] ?? new FakeChatModel(id, []),
    personas: fakePersonas,
    bus: createEventBus(),
    clock: new ManualClock(),
    checkpointer: new MemorySaver(),
    toolForge: {
      forge: async (request) => {
        seen.forged.push(request);
        return { status: 'failed', message: 'No timers today.' };
      },
    },
    tools,
    logger: createSilentLogger(),
    memory: {
      recall: async (_query, options) => {
        seen.recalls.push(options ?? {});
        return [];
      },
      record: async (record) => {
        seen.records.push(record);
        return { id: 'record-1' };
      },
    },
    settings: { maxTurns: 2, maxToolRequests: 1 },
  });
  return { dialogue, seen };
}

async function talk(
  dialogue: ReturnType<typeof recordingDialogue>['dialogue'],
  request: DialogueRequest,
  streamTurns = false,
) {
  const events: DialogueEvent[] = [];
  for await (const event of dialogue.run(request, { streamTurns })) events.push(event);
  return events;
}

describe("the dialogue's scope, given to the graph as LangGraph's run context", () => {
  it('reaches recall, tool search, tool calls and the forge when the run is held in a server channel', async () => {
    const { dialogue, seen } = recordingDialogue();
    const events = await talk(dialogue, {
      conversationId: 'thread-1',
      message: 'Add one and one.',
      userId: 'u1',
      scope: { guildId: 'g1', channelId: 'c1', readableChannels: ['c1', 'c2'], threadId: 'thread-1' },
    });
    expect(seen.recalls).toEqual([
      { excludeConversation: 'thread-1', guildId: 'g1', channelIds: ['c1', 'c2'] },
    ]);
    expect(seen.toolGuilds.length).toBeGreaterThan(2);
    expect(new Set(seen.toolGuilds)).toEqual(new Set(['g1']));
    expect(seen.forged).toMatchObject([
      {
        conversationId: 'thread-1',
        guildId: 'g1',
        channelId: 'thread-1',
        spec: 'a timer',
        requestedBy: 'BRICK',
        forgedFor: 'u1',
      },
    ]);
    expect(seen.records).toMatchObject([
      { conversationId: 'thread-1', userId: 'u1', guildId: 'g1', channelId: 'c1' },
    ]);
    expect(events.filter((e) => e.type === 'turn').map((e) => e.persona)).toEqual([
      'ALFRED',
      'BRICK',
      'ROBIN',
      'TOOL_FORGE',
      'BRICK',
      'ROBIN',
      'ALFRED',
    ]);
    expect(events.some((e) => e.type === 'partial')).toBe(false);
  });

  it('keeps a run given no scope out of every server, and streams its turns when asked', async () => {
    const { dialogue, seen } = recordingDialogue();
    const events = await talk(dialogue, { conversationId: 'terminal', message: 'Add one and one.' }, true);
    expect(seen.recalls).toEqual([{ excludeConversation: 'terminal', guildId: null }]);
    expect(new Set(seen.toolGuilds)).toEqual(new Set([null]));
    expect(seen.forged).toMatchObject([{ guildId: null, forgedFor: null }]);
    const [record] = seen.records;
    expect(record).toBeDefined();
    expect(record && ['userId', 'guildId', 'channelId'].filter((key) => key in record)).toEqual([]);
    expect(events).toContainEqual({ type: 'partial', persona: 'ALFRED', node: 'alfred_plan', text: 'A pl' });
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'The answer.', dissonance: 0.1, rounds: 2 });
  });
});
