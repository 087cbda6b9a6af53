import { createKeyedLock } from '../shared/concurrency.ts';
import {
  buildDialogueGraph,
  DEFAULT_DIALOGUE_SETTINGS,
  type DialogueGraphDeps,
  type ProgressEvent,
  recursionLimitFor,
} from './buildDialogueGraph.ts';
import type { DialogueStateUpdate, NodeName, ToolCallRecord, Turn, TurnKind } from './state.ts';

/** A persona finished a turn: delivered as soon as it completes. */
export interface TurnEvent {
  type: 'turn';
  /** Persona id, or `TOOL_FORGE`. */
  persona: string;
  node: NodeName;
  kind: TurnKind;
  /** The turn as it should be shown (control lines removed). */
  text: string;
  /** 1 for ALFRED's plan, then counting every turn of this run. */
  turn: number;
  /** BRICK⇄ROBIN round (0 for the plan). */
  round: number;
  /** ROBIN's dissonance, 0–1, on his turns. */
  dissonance?: number;
  model?: string;
  /** Tools the persona called before its final words. */
  toolCalls?: ToolCallRecord[];
  /** For a forge turn: the tool created or reused. */
  forged?: { name: string; version: number; status: 'created' | 'reused' };
}

/** The run finished. */
export interface DoneEvent {
  type: 'done';
  conversationId: string;
  /** The conversation's run number. */
  run: number;
  answer: string;
  /** Final dissonance; null when ROBIN never spoke. */
  dissonance: number | null;
  trajectory: number[];
  rounds: number;
  /** Parsing fallbacks and ignored markers. */
  warnings: string[];
}

export type DialogueEvent = ProgressEvent | TurnEvent | DoneEvent;

export interface DialogueRequest {
  /** Keys the stored conversation: a Discord thread id, a terminal session id, … */
  conversationId: string;
  /** The human's message. */
  message: string;
  /** Who asked, and where: kept in the interaction log. */
  meta?: { userId?: string; guildId?: string; channelId?: string };
  /**
   * The channels whose past dialogues this one may recall: those everyone who reads this
   * dialogue can read. Absent: every dialogue of the same server.
   */
  recallChannels?: readonly string[];
}

export interface DialogueRunOptions {
  signal?: AbortSignal;
  /** Streams each persona's words as they come (`partial` events before each `turn`). */
  streamTurns?: boolean;
}

export interface Dialogue {
  /**
   * Runs the graph for one human message and yields each event as it happens. Runs of the
   * same conversation wait for each other; different conversations run side by side.
   */
  run(request: DialogueRequest, options?: DialogueRunOptions): AsyncGenerator<DialogueEvent>;
  /** Whether a conversation is stored. */
  exists(conversationId: string): Promise<boolean>;
  /** Every turn stored for a conversation, oldest first. */
  turns(conversationId: string): Promise<Turn[]>;
  /** Deletes a conversation's stored state: the personas no longer carry it. */
  forget(conversationId: string): Promise<void>;
}

/** The dialogue service over the compiled graph. */
export function createDialogue(deps: DialogueGraphDeps): Dialogue {
  const graph = buildDialogueGraph(deps);
  const settings = { ...DEFAULT_DIALOGUE_SETTINGS, ...deps.settings };
  // Runs of one conversation wait for each other; different conversations run side by side.
  const conversations = createKeyedLock();
  const configFor = (conversationId: string) => ({ configurable: { thread_id: conversationId } });

  return {
    async *run(request, options = {}) {
      const release = await conversations.acquire(request.conversationId);
      try {
        const config = configFor(request.conversationId);
        const snapshot = await graph.getState(config);
        const run = (Number(snapshot.values.run) || 0) + 1;
        const startedAt = deps.clock.now();
        const task = request.message.trim();
        const input: DialogueStateUpdate = {
          turns: [
            {
              speaker: 'USER',
              kind: 'task',
              content: task,
              display: task,
              run,
              round: 0,
              at: deps.clock.now(),
            },
          ],
          run,
          task,
          plan: '',
          round: 0,
          dissonance: null,
          trajectory: [],
          toolSpec: null,
          tools: [],
          toolRequests: 0,
          warnings: [],
          answer: '',
        };
        let count = 0;
        const stream = await graph.stream(input, {
          configurable: {
            ...config.configurable,
            guild_id: request.meta?.guildId,
            recall_channels: request.recallChannels,
            stream_turns: options.streamTurns === true,
          },
          streamMode: ['updates', 'custom'],
          recursionLimit: recursionLimitFor(settings),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        for await (const [mode, chunk] of stream) {
          if (mode === 'custom') {
            yield chunk as ProgressEvent;
            continue;
          }
          for (const [node, update] of Object.entries(
            chunk as Record<string, DialogueStateUpdate | undefined>,
          )) {
            for (const turn of (update?.turns as Turn[] | undefined) ?? []) {
              count++;
              const event: TurnEvent = {
                type: 'turn',
                persona: turn.speaker,
                node: node as NodeName,
                kind: turn.kind,
                text: turn.display,
                turn: count,
                round: turn.round,
              };
              if (turn.dissonance !== undefined) event.dissonance = turn.dissonance;
              if (turn.model !== undefined) event.model = turn.model;
              if (turn.toolCalls?.length) event.toolCalls = turn.toolCalls;
              if (turn.forged) event.forged = turn.forged;
              yield event;
            }
          }
        }
        const final = (await graph.getState(config)).values;
        let recordId: string | undefined;
        if (deps.memory) {
          const turns = ((final.turns as Turn[]) ?? []).filter((t) => t.run === run && t.kind !== 'task');
          const record = {
            conversationId: request.conversationId,
            run,
            task,
            answer: String(final.answer ?? ''),
            turns: turns.map((t) => ({
              speaker: t.speaker,
              kind: t.kind,
              output: t.content,
              at: t.at,
              ...(t.system !== undefined ? { system: t.system } : {}),
              ...(t.prompt !== undefined ? { prompt: t.prompt } : {}),
              ...(t.exchange?.length ? { exchange: t.exchange } : {}),
              ...(t.model !== undefined ? { model: t.model } : {}),
              ...(t.dissonance !== undefined ? { dissonance: t.dissonance } : {}),
              ...(t.toolCalls?.length ? { toolCalls: t.toolCalls } : {}),
            })),
            models: [...new Set(turns.flatMap((t) => (t.model ? [t.model] : [])))],
            trajectory: (final.trajectory as number[]) ?? [],
            finalDissonance: (final.dissonance as number | null) ?? null,
            codexVersion: deps.personas().codexVersion,
            startedAt,
            finishedAt: deps.clock.now(),
            ...request.meta,
          };
          // A memory failure never costs the person their answer.
          const stored = await deps.memory.record(record).catch((error: unknown) => {
            deps.logger.error(
              { err: error, conversationId: request.conversationId },
              'could not record the dialogue',
            );
            return undefined;
          });
          recordId = stored?.id;
        }
        const dissonance = (final.dissonance as number | null) ?? null;
        // Published once the run is recorded, so listeners find it in the interaction log.
        if (dissonance !== null && dissonance > settings.highDissonance) {
          deps.bus.publish('high_cognitive_dissonance', {
            conversationId: request.conversationId,
            run,
            ...(recordId ? { recordId } : {}),
            task,
            dissonance,
            trajectory: (final.trajectory as number[]) ?? [],
            at: deps.clock.now(),
          });
        }
        yield {
          type: 'done',
          conversationId: request.conversationId,
          run,
          answer: String(final.answer ?? ''),
          dissonance: (final.dissonance as number | null) ?? null,
          trajectory: (final.trajectory as number[]) ?? [],
          rounds: Number(final.round) || 0,
          warnings: (final.warnings as string[]) ?? [],
        };
      } finally {
        release();
      }
    },
    async exists(conversationId) {
      return (await deps.checkpointer.getTuple(configFor(conversationId))) !== undefined;
    },
    async forget(conversationId) {
      await deps.checkpointer.deleteThread(conversationId);
    },
    async turns(conversationId) {
      const snapshot = await graph.getState(configFor(conversationId));
      return (snapshot.values.turns as Turn[] | undefined) ?? [];
    },
  };
}
