import { buildDialogueGraph, type DialogueGraph } from './buildDialogueGraph.ts';
import type { DialogueGraphDeps } from './deps.ts';
import type { DialogueEvent, DoneEvent, ProgressEvent, TurnEvent } from './events.ts';
import { type DialogueScope, NO_SCOPE } from './runContext.ts';
import { DEFAULT_DIALOGUE_SETTINGS, type DialogueSettings, recursionLimitFor } from './settings.ts';
import {
  type DialogueStateUpdate,
  type DialogueStateValue,
  isNodeName,
  type NodeName,
  type NodeUpdate,
  type Turn,
} from './state.ts';

export type { DialogueGraphDeps, DialogueMemory } from './deps.ts';
export type {
  DialogueEvent,
  DoneEvent,
  PartialEvent,
  ProgressEvent,
  QueuedEvent,
  ThinkingEvent,
  ToolCallEvent,
  ToolResultEvent,
  TurnEvent,
} from './events.ts';
export type { DialogueScope } from './runContext.ts';

export interface DialogueRequest {
  /** Keys the stored conversation: a Discord thread id, a terminal session id, … */
  conversationId: string;
  /** The human's message. */
  message: string;
  /** Who asked: kept in the interaction log. */
  userId?: string;
  /**
   * Where the dialogue is held and whose past dialogues it may recall; its server and channel are
   * kept in the interaction log. Absent: no server, no channel (the terminal chat).
   */
  scope?: DialogueScope;
}

export interface DialogueRunOptions {
  signal?: AbortSignal;
  /** Streams each persona's words as they come (`partial` events before each `turn`). */
  streamTurns?: boolean;
}

export interface Dialogue {
  /**
   * Runs the graph for one human message and yields each event as it happens. One run per
   * conversation at a time is the caller's to keep (as LangGraph leaves a thread's order to its
   * server): the bot's dialogue runner queues each thread's messages; the terminal chat waits
   * for each answer. Different conversations run side by side.
   */
  run(request: DialogueRequest, options?: DialogueRunOptions): AsyncGenerator<DialogueEvent>;
  /** Whether a conversation is stored. */
  exists(conversationId: string): Promise<boolean>;
  /** Every turn stored for a conversation, oldest first. */
  turns(conversationId: string): Promise<Turn[]>;
  /** Deletes a conversation's stored state: the personas no longer carry it. */
  forget(conversationId: string): Promise<void>;
}

/** What a run works with: the compiled graph, the services around it, its settings filled in. */
interface RunDeps {
  graph: DialogueGraph;
  deps: DialogueGraphDeps;
  settings: DialogueSettings;
}

/** One run of a conversation, as it started. */
interface RunStart {
  request: DialogueRequest;
  run: number;
  task: string;
  startedAt: number;
}

/** What a stored conversation holds; nothing before its first run. */
type StoredState = Partial<DialogueStateValue>;

const configFor = (conversationId: string) => ({ configurable: { thread_id: conversationId } });

/** The conversation's state as stored, typed (LangGraph gives its snapshot's values untyped). */
async function readState(graph: DialogueGraph, conversationId: string): Promise<StoredState> {
  const snapshot = await graph.getState(configFor(conversationId));
  return snapshot.values;
}

/** The input that starts a run: the human's task as its first turn, the run's own fields reset. */
function runInput(start: RunStart, at: number): DialogueStateUpdate {
  const { run, task } = start;
  return {
    turns: [{ speaker: 'USER', kind: 'task', content: task, display: task, run, round: 0, at }],
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
}

/** A node's finished turns as events, numbered on from `count` (the turns of this run so far). */
function turnEvents(node: NodeName, update: NodeUpdate | undefined, count: number): TurnEvent[] {
  return (update?.turns ?? []).map((turn, index) => {
    const event: TurnEvent = {
      type: 'turn',
      persona: turn.speaker,
      node,
      kind: turn.kind,
      text: turn.display,
      run: turn.run,
      turn: count + index + 1,
      round: turn.round,
    };
    if (turn.dissonance !== undefined) event.dissonance = turn.dissonance;
    if (turn.model !== undefined) event.model = turn.model;
    if (turn.toolCalls?.length) event.toolCalls = turn.toolCalls;
    if (turn.forged) event.forged = turn.forged;
    return event;
  });
}

/** Streams the graph for one run: progress events as they come, each node's turns as it finishes. */
async function* streamRun(
  { graph, deps, settings }: RunDeps,
  start: RunStart,
  options: DialogueRunOptions,
): AsyncGenerator<DialogueEvent> {
  const { request } = start;
  const stream = await graph.stream(runInput(start, deps.clock.now()), {
    ...configFor(request.conversationId),
    context: {
      scope: request.scope ?? NO_SCOPE,
      streamTurns: options.streamTurns === true,
      userId: request.userId,
    },
    streamMode: ['updates', 'custom'],
    recursionLimit: recursionLimitFor(settings),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let count = 0;
  for await (const [mode, chunk] of stream) {
    if (mode === 'custom') {
      // Only the nodes write to this stream, and their writer takes progress events alone.
      const progress: ProgressEvent = chunk;
      yield progress;
      continue;
    }
    for (const [node, update] of Object.entries(chunk)) {
      if (!isNodeName(node)) continue;
      for (const event of turnEvents(node, update, count)) {
        count = event.turn;
        yield event;
      }
    }
  }
}

/** Records the finished run in long-term memory; returns its record's id, none when it could not be kept. */
async function recordRun(deps: DialogueGraphDeps, start: RunStart, final: StoredState) {
  if (!deps.memory) return undefined;
  const { request, run } = start;
  const turns = (final.turns ?? []).filter((t) => t.run === run && t.kind !== 'task');
  const scope = request.scope ?? NO_SCOPE;
  const record = {
    conversationId: request.conversationId,
    run,
    task: start.task,
    answer: final.answer ?? '',
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
      ...(t.recalled?.length ? { recalled: t.recalled } : {}),
    })),
    models: [...new Set(turns.flatMap((t) => (t.model ? [t.model] : [])))],
    trajectory: final.trajectory ?? [],
    finalDissonance: final.dissonance ?? null,
    codexVersion: deps.personas().codexVersion,
    startedAt: start.startedAt,
    finishedAt: deps.clock.now(),
    ...(request.userId ? { userId: request.userId } : {}),
    ...(scope.guildId ? { guildId: scope.guildId } : {}),
    ...(scope.channelId ? { channelId: scope.channelId } : {}),
    ...(scope.visibility ? { visibility: scope.visibility } : {}),
  };
  // A memory failure never costs the person their answer.
  const stored = await deps.memory.record(record).catch((error: unknown) => {
    deps.logger.error(
      { err: error, conversationId: request.conversationId },
      'could not record the dialogue',
    );
    return undefined;
  });
  return stored?.id;
}

/** Tells listeners of a run that ended far from agreement (above `highDissonance`). */
function publishHighDissonance(
  { deps, settings }: RunDeps,
  start: RunStart,
  final: StoredState,
  recordId: string | undefined,
) {
  const dissonance = final.dissonance ?? null;
  if (dissonance === null || dissonance <= settings.highDissonance) return;
  deps.bus.publish('high_cognitive_dissonance', {
    conversationId: start.request.conversationId,
    run: start.run,
    ...(recordId ? { recordId } : {}),
    task: start.task,
    dissonance,
    trajectory: final.trajectory ?? [],
    at: deps.clock.now(),
  });
}

function doneEvent(start: RunStart, final: StoredState): DoneEvent {
  return {
    type: 'done',
    conversationId: start.request.conversationId,
    run: start.run,
    answer: final.answer ?? '',
    dissonance: final.dissonance ?? null,
    trajectory: final.trajectory ?? [],
    rounds: final.round || 0,
    warnings: final.warnings ?? [],
  };
}

/** One run, start to finish: its events, then its record in memory, then the `done` event. */
async function* runDialogue(
  runDeps: RunDeps,
  request: DialogueRequest,
  options: DialogueRunOptions,
): AsyncGenerator<DialogueEvent> {
  const { graph, deps } = runDeps;
  const run = ((await readState(graph, request.conversationId)).run || 0) + 1;
  const start: RunStart = { request, run, task: request.message.trim(), startedAt: deps.clock.now() };
  yield* streamRun(runDeps, start, options);
  const final = await readState(graph, request.conversationId);
  const recordId = await recordRun(deps, start, final);
  // Published once the run is recorded, so listeners find it in the interaction log.
  publishHighDissonance(runDeps, start, final, recordId);
  yield doneEvent(start, final);
}

/** The dialogue service over the compiled graph. */
export function createDialogue(deps: DialogueGraphDeps): Dialogue {
  const graph = buildDialogueGraph(deps);
  const settings = { ...DEFAULT_DIALOGUE_SETTINGS, ...deps.settings };
  return {
    run: (request, options = {}) => runDialogue({ graph, deps, settings }, request, options),
    async exists(conversationId) {
      return (await deps.checkpointer.getTuple(configFor(conversationId))) !== undefined;
    },
    async forget(conversationId) {
      await deps.checkpointer.deleteThread(conversationId);
    },
    async turns(conversationId) {
      return (await readState(graph, conversationId)).turns ?? [];
    },
  };
}
