import { Annotation, type LangGraphRunnableConfig } from '@langchain/langgraph';
import type { DialogueVisibility } from '../services/memory/interactionLog.ts';
import type { ToolScope } from '../services/tools/toolPorts.ts';
import type { ProgressEvent } from './events.ts';

export type { DialogueVisibility } from '../services/memory/interactionLog.ts';

/** Where a dialogue is held, and whose past dialogues it may read. */
export interface DialogueScope {
  /** The server (null outside servers, such as the terminal chat): recall and tools stay within it. */
  guildId: string | null;
  /**
   * The place the dialogue is filed under: a thread's parent channel, or a private thread itself
   * (only its members may read it); null outside servers.
   */
  channelId: string | null;
  /**
   * The places (channels, and a private thread itself) whose past dialogues and tools every
   * reader of this one may read. Absent: all of the same server's.
   */
  readableChannels?: readonly string[];
  /** The Discord thread the dialogue is held in, when it is held in one. */
  threadId?: string;
  /**
   * Who can see where it is held, as the bot found it (kept in the interaction log, for
   * curation). Absent: unknown, which counts as not public (the terminal chat).
   */
  visibility?: DialogueVisibility;
}

/** A dialogue held nowhere in particular: no server, no channel (the terminal chat's). */
export const NO_SCOPE: DialogueScope = { guildId: null, channelId: null };

/**
 * What one run of the graph is given beside its state: LangGraph's run context
 * (`graph.stream(input, { context })`), read by the nodes as `config.context`. The conversation
 * itself is LangGraph's `thread_id`, in `configurable`, where its checkpointer looks for it.
 */
export const DialogueContext = Annotation.Root({
  /** Where the dialogue is held. */
  scope: Annotation<DialogueScope>(),
  /** Whether each persona's words are streamed as they come (`partial` events). */
  streamTurns: Annotation<boolean>(),
  /**
   * Who sent the message the run answers (a Discord user id); undefined outside Discord. A tool
   * the run forges is forged for them: only their own tools may gain a version from it.
   */
  userId: Annotation<string | undefined>(),
});

export type DialogueRunContext = typeof DialogueContext.State;

/** Writes a progress event to LangGraph's `custom` stream. */
export type ProgressWriter = (event: ProgressEvent) => void;

/**
 * What a node is given beside the state: the run's context, its signal, its stream writer (typed
 * here, where LangGraph's own config takes any chunk), and `configurable` with the `thread_id`.
 */
export type DialogueNodeConfig = Omit<LangGraphRunnableConfig, 'context' | 'writer'> & {
  context?: DialogueRunContext;
  writer?: ProgressWriter;
};

/** The conversation the run belongs to (LangGraph's `thread_id`). */
export function conversationOf(config: DialogueNodeConfig): string {
  return String(config.configurable?.thread_id ?? '');
}

/** Who sent the message the run answers; undefined outside Discord. */
export function requesterOf(config: DialogueNodeConfig): string | undefined {
  return config.context?.userId;
}

/** The run's scope; a run given none is held nowhere in particular. */
export function scopeOf(config: DialogueNodeConfig): DialogueScope {
  return config.context?.scope ?? NO_SCOPE;
}

/** The tools the run may see: its server's, of those only the ones forged where all its readers may read. */
export function toolScopeOf(config: DialogueNodeConfig): ToolScope {
  const { guildId, readableChannels } = scopeOf(config);
  return { guildId, ...(readableChannels ? { channelIds: readableChannels } : {}) };
}
