/**
 * The events the services share. The graph publishes; later loops (the philosophical loop,
 * curation) subscribe.
 */
import { EventEmitter } from 'node:events';
import type { CurationReport } from './curation/curation.ts';
import type { FinetuneJob } from './finetune/finetuneStore.ts';
import type { Proposal } from './governance/proposalStore.ts';
import type { ToolManifest } from './tools/toolRegistry.ts';

export interface BatEvents {
  /** A dialogue ended with ROBIN's dissonance above `HIGH_DISSONANCE`. */
  high_cognitive_dissonance: {
    conversationId: string;
    /** The conversation's run number. */
    run: number;
    /** The run's record in the interaction log, when it was recorded. */
    recordId?: string;
    task: string;
    /** Final dissonance, 0–1. */
    dissonance: number;
    /** Every dissonance of the run, in order. */
    trajectory: number[];
    /** Milliseconds since the epoch. */
    at: number;
  };
  /** The tool forge registered a new tool (or a new version of one). */
  tool_forged: {
    tool: ToolManifest;
    code: string;
    /** The dialogue (or `/tools forge` interaction) that asked for it. */
    conversationId: string;
    /** The Discord channel or thread it was asked in; absent outside Discord (the terminal chat). */
    channelId?: string;
    /** A persona id, or the Discord user id of whoever ran `/tools forge`. */
    requestedBy: string;
  };
  /** An amendment (or rollback) awaits the architect: post it with its buttons. */
  proposal_ready: { proposal: Proposal };
  /** ALFRED's drafts were all refused, or drafting failed: autonomy resumes. */
  proposal_abandoned: { proposal: Proposal };
  /** The architect ratified a proposal: the codex on disk and the personas are the new version. */
  codex_amended: { proposal: Proposal; version: number };
  /** A curation run added golden samples (the bot posts one line in `LOG_CHANNEL_ID`). */
  curated: { report: CurationReport };
  /** The operator edited `codex.toml` on the host and it is in force (a pending proposal went stale). */
  codex_edited: { version: number; stale?: Proposal };
  /** An edit of `codex.toml` on the host was refused; the old codex stays in force. */
  codex_refused: { problems: string[] };
  /** A fine-tune job started, progressed, or ended (its state says how). */
  finetune_job: { job: FinetuneJob };
}

export type Listener<T> = (payload: T) => void | Promise<void>;

export interface EventBus<Events = BatEvents> {
  publish<K extends keyof Events>(type: K, payload: Events[K]): void;
  /** Returns a function that removes the listener. */
  subscribe<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void;
}

export interface EventBusOptions {
  /** Called when a listener throws or rejects; a listener's failure never reaches the publisher. */
  onListenerError?: (type: string, error: unknown) => void;
}

/**
 * A typed bus over Node's own `EventEmitter`; what it adds is isolation: a listener that throws
 * or rejects is reported through `onListenerError` and never reaches the publisher or the other
 * listeners.
 */
export function createEventBus<Events = BatEvents>(options: EventBusOptions = {}): EventBus<Events> {
  const emitter = new EventEmitter();
  // Any number of parts of the bot may listen; none is a leak by being many.
  emitter.setMaxListeners(0);
  const report = (type: keyof Events, error: unknown) => options.onListenerError?.(String(type), error);
  return {
    publish(type, payload) {
      emitter.emit(type as string | symbol, payload);
    },
    subscribe(type, listener) {
      const isolated = (payload: Events[typeof type]) => {
        try {
          const result = listener(payload);
          if (result instanceof Promise) result.catch((error: unknown) => report(type, error));
        } catch (error) {
          report(type, error);
        }
      };
      emitter.on(type as string | symbol, isolated);
      return () => {
        emitter.off(type as string | symbol, isolated);
      };
    },
  };
}
