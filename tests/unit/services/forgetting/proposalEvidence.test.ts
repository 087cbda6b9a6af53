import { afterEach, describe, expect, it } from 'vitest';
import { forgottenOf } from '../../../../src/services/forgetting/forgotten.ts';
import {
  FORGOTTEN_EVIDENCE,
  forgetProposalEvidence,
} from '../../../../src/services/forgetting/proposalEvidence.ts';
import { evidenceEntry } from '../../../../src/services/governance/evidence.ts';
import { type Proposal, ProposalStore } from '../../../../src/services/governance/proposalStore.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const record = (id: string, task: string, robin: string): StoredRecord => ({
  seq: 1,
  id,
  conversationId: `c-${id}`,
  run: 1,
  task,
  answer: 'We agreed to disagree.',
  turns: [
    { speaker: 'BRICK', kind: 'thesis', output: 'Weigh them first.', at: 1 },
    { speaker: 'ROBIN', kind: 'antithesis', output: robin, at: 2 },
  ],
  models: [],
  trajectory: [0.9],
  finalDissonance: 0.9,
  codexVersion: 1,
  startedAt: 0,
  finishedAt: 3,
  embedded: true,
});

const secret = record(
  'r1',
  'How do we ship the Quokka7Marmalade crates?',
  'The Quokka7Marmalade crates deserve softer straw, whatever it costs.',
);
const other = record('r2', 'What should the zoo feed the lemurs?', 'Fruit, and plenty of it, every morning.');

const proposal = (id: string, records: StoredRecord[], draft: string, rationale: string): Proposal => ({
  id,
  kind: 'amendment',
  state: 'pending',
  title: 'ROBIN weighs costs too',
  principles: ['ROBIN: weigh the cost'],
  rationale,
  consequences: 'ROBIN will name costs.',
  baseHash: 'h',
  baseVersion: 1,
  newCodex: '[codex]',
  diff: '-old\n+new',
  history: [
    ...records.map((r, i) => evidenceEntry(r, i, records.length, true)),
    { kind: 'draft', title: 'ALFRED’s draft', text: draft, at: 4 },
  ],
  evidence: records.map((r) => r.id),
  requestedBy: 'system',
  createdAt: 0,
  updatedAt: 0,
  openedBy: [],
});

describe('forgetting in the proposals’ evidence', () => {
  it('empties the forgotten dialogue’s evidence, cuts verbatim copies of it, and keeps the rest and its id', async () => {
    const store = await ProposalStore.open({ dataDir: folders.folder() });
    await store.create(
      proposal(
        'p1',
        [secret, other],
        `I read: ${secret.task}`,
        `One dialogue said: ${secret.turns[1]?.output}`,
      ),
    );
    await store.create(proposal('p2', [other], 'Nothing of the crates.', 'The lemurs eat well.'));
    const before = await store.get('p2');

    expect(await forgetProposalEvidence(store, forgottenOf('c-r1', [secret]), 9)).toEqual(['p1']);

    const p1 = (await store.get('p1')) as Proposal;
    expect(JSON.stringify(p1)).not.toContain('Quokka7Marmalade');
    expect(p1.history[0]).toMatchObject({ kind: 'evidence', recordId: 'r1', text: FORGOTTEN_EVIDENCE });
    expect(p1.history[0]?.title).toMatch(/^Dialogue 1 of 2 — /);
    expect(p1.history[1]).toEqual(evidenceEntry(other, 1, 2, true));
    expect(p1.history[2]?.text).toBe('I read: [forgotten]');
    expect(p1.rationale).toBe('One dialogue said: [forgotten]');
    expect(p1.evidence).toEqual(['r1', 'r2']);
    expect(p1.updatedAt).toBe(9);
    expect(await store.get('p2')).toEqual(before);
    // Done once: a second forget finds nothing.
    expect(await forgetProposalEvidence(store, forgottenOf('c-r1', [secret]), 10)).toEqual([]);
    await store.close();
  });
});
