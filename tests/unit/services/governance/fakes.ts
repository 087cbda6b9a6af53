import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Codex, parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import { type BatEvents, createEventBus, type EventBus } from '../../../../src/services/eventBus.ts';
import type { EvidenceReaders } from '../../../../src/services/governance/evidence.ts';
import type {
  CodexVersion,
  Proposal,
  ProposalStore,
  Started,
} from '../../../../src/services/governance/proposalStore.ts';
import type { ChatMessage, ModelFor } from '../../../../src/services/llm/chatModel.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { ManualClock } from '../../../support/clock.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';

/** Plain fakes for the governance services' unit tests: no SQLite, no model server, no Discord. */

type StoreMethods =
  | 'nextId'
  | 'create'
  | 'createUnlessActive'
  | 'get'
  | 'update'
  | 'active'
  | 'list'
  | 'answered'
  | 'completeApproval'
  | 'addVersion'
  | 'versions';

/** The proposal store's contract in memory: proposals in creation order, versions never overwritten. */
export class InMemoryProposalStore implements Pick<ProposalStore, StoreMethods> {
  private readonly proposals: Proposal[] = [];
  private readonly recorded: CodexVersion[] = [];

  async nextId(): Promise<string> {
    return `p${this.proposals.length + 1}`;
  }

  async create(proposal: Proposal): Promise<Proposal> {
    this.proposals.push(structuredClone(proposal));
    return proposal;
  }

  async createUnlessActive(make: (id: string) => Proposal): Promise<Started> {
    const active = this.activeNow();
    if (active) return { ok: false, active };
    const proposal = make(`p${this.proposals.length + 1}`);
    this.proposals.push(structuredClone(proposal));
    return { ok: true, proposal };
  }

  async get(id: string): Promise<Proposal | undefined> {
    return this.getNow(id);
  }

  async update(id: string, change: (proposal: Proposal) => Partial<Proposal>, at: number): Promise<Proposal> {
    const index = this.proposals.findIndex((p) => p.id === id);
    const current = this.getNow(id);
    if (!current) throw new Error(`no proposal ${id}`);
    const changed = change(current);
    if (Object.keys(changed).length === 0) return current;
    const next: Proposal = { ...current, ...changed, updatedAt: at };
    this.proposals[index] = structuredClone(next);
    return next;
  }

  async active(): Promise<Proposal | undefined> {
    return this.activeNow();
  }

  async list(limit = 25): Promise<Proposal[]> {
    return [...this.proposals]
      .reverse()
      .slice(0, limit < 0 ? undefined : limit)
      .map((p) => structuredClone(p));
  }

  async answered(): Promise<Set<string>> {
    return new Set(this.proposals.filter((p) => !p.interrupted).flatMap((p) => p.evidence));
  }

  async completeApproval(
    id: string,
    version: CodexVersion & { proposalId: string; approvedBy: string },
  ): Promise<Proposal> {
    const current = this.getNow(id);
    if (current?.state === 'approved' && current.newVersion === version.version) return current;
    await this.addVersion(version);
    return this.update(
      id,
      () => ({
        state: 'approved',
        decidedBy: version.approvedBy,
        decidedAt: version.at,
        newVersion: version.version,
        approving: undefined,
      }),
      version.at,
    );
  }

  async addVersion(version: CodexVersion): Promise<void> {
    if (this.recorded.some((v) => v.version === version.version))
      throw new Error(`version ${version.version} is already recorded`);
    this.recorded.push({ ...version });
    this.recorded.sort((a, b) => a.version - b.version);
  }

  async versions(): Promise<CodexVersion[]> {
    return this.recorded.map((v) => ({ ...v }));
  }

  private getNow(id: string): Proposal | undefined {
    const found = this.proposals.find((p) => p.id === id);
    return found ? structuredClone(found) : undefined;
  }

  private activeNow(): Proposal | undefined {
    const found = this.proposals.find((p) => p.state === 'drafting' || p.state === 'pending');
    return found ? structuredClone(found) : undefined;
  }
}

/**
 * The readers of the governance channel (`governance`) as the bot would report them: they may
 * read the dialogues held in `readable` (by default every dialogue, even one held in no channel).
 */
export function governanceReaders(readable?: readonly string[]): EvidenceReaders {
  return {
    channelFor: () => 'governance',
    readable: () => (channelId) =>
      readable === undefined || (channelId !== undefined && readable.includes(channelId)),
  };
}

/** The event bus, with every event it carried. */
export function recordingBus(): { bus: EventBus; events: Array<[keyof BatEvents, unknown]> } {
  const bus = createEventBus();
  const events: Array<[keyof BatEvents, unknown]> = [];
  const types: Array<keyof BatEvents> = [
    'proposal_ready',
    'proposal_abandoned',
    'codex_amended',
    'codex_edited',
    'codex_refused',
  ];
  for (const type of types) bus.subscribe(type, (payload) => void events.push([type, payload]));
  return { bus, events };
}

/** A dialogue of the interaction log that ended at `dissonance`. */
export function dialogue(
  id: string,
  dissonance: number | null,
  finishedAt: number,
  /** Who asked (null: nobody, as in the terminal chat); by default a member of its own, so that dialogues come from different members. */
  userId: string | null = `u-${id}`,
): StoredRecord {
  return {
    id,
    ...(userId ? { userId } : {}),
    seq: 0,
    embedded: false,
    conversationId: `c-${id}`,
    run: 1,
    task: `task ${id}`,
    answer: `answer ${id}`,
    turns: [
      { speaker: 'BRICK', kind: 'thesis', output: `thesis ${id}`, at: finishedAt - 500 },
      { speaker: 'ROBIN', kind: 'antithesis', output: `antithesis ${id}`, at: finishedAt },
    ],
    models: [],
    trajectory: dissonance === null ? [] : [dissonance],
    finalDissonance: dissonance,
    codexVersion: 1,
    startedAt: finishedAt - 1000,
    finishedAt,
  };
}

/** The interaction log's `between`, over a list. */
export const recordsOf = (records: StoredRecord[]) => ({
  between: (from: number, to: number) => records.filter((r) => r.finishedAt >= from && r.finishedAt < to),
});

/**
 * Models that answer from a script per persona (an `Error` is thrown instead), remembering what
 * each was asked; a call after its script ran out fails.
 */
export function scriptedModels(script: Record<string, Array<string | Error>>) {
  const asked: Array<{ persona: string; messages: readonly ChatMessage[] }> = [];
  const modelFor: ModelFor = (persona) => ({
    model: `fake-${persona}`,
    async invoke(messages, options) {
      asked.push({ persona, messages });
      options?.signal?.throwIfAborted();
      const next = script[persona]?.shift();
      if (next === undefined) throw new Error(`${persona} has nothing more to say`);
      if (next instanceof Error) throw next;
      return next;
    },
  });
  return { modelFor, asked };
}

/**
 * A codex in a temporary folder (the shipped one) with its data folder, and what every
 * governance part needs beside: an in-memory store, a manual clock, a silent logger, a bus that
 * records, and the codex in force (`applyCodex` replaces it).
 */
export function governanceWorld(folder: string) {
  const codexPath = join(folder, 'codex.toml');
  copyFileSync(REAL_CODEX_PATH, codexPath);
  const { bus, events } = recordingBus();
  let inForce = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
  return {
    store: new InMemoryProposalStore(),
    clock: new ManualClock(),
    log: createSilentLogger(),
    bus,
    events,
    codexPath,
    dataDir: folder,
    codex: () => inForce,
    applyCodex: (next: Codex) => {
      inForce = next;
    },
    readers: () => governanceReaders(),
    owner: fakeOwner(),
  };
}

/**
 * The processes sharing the database as a test decides (`processOwner.ts`): this one (`self`)
 * lives, and so does each name added to `living`; `lockable` false is a database that would not
 * give this process its lock.
 */
export function fakeOwner(self = 'this-process') {
  const owner = {
    self,
    living: new Set<string>(),
    lockable: true,
    claim: async () => owner.lockable,
    alive: async (name: string | undefined) =>
      name === self || (name !== undefined && owner.living.has(name)),
    close: async () => {},
  };
  return owner;
}
