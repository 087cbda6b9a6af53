import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import {
  evidenceEntry,
  forgetEvidenceIn,
  NO_READERS,
  promptEvidence,
  repeatsWithheld,
  showable,
} from '../../../../src/services/governance/evidence.ts';
import { newProposalRecord } from '../../../../src/services/governance/proposalStateMachine.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';
import { dialogue, governanceReaders } from './fakes.ts';

const SECRET = 'the board meets at the lake house to plan the merger with Acme';

describe('evidence, judged for its readers', () => {
  const board = { ...dialogue('a', 0.9, 0), channelId: 'board', task: SECRET };
  const open = { ...dialogue('b', 0.85, 0), channelId: 'public' };

  it('keeps the words of a dialogue only when its readers may read it', () => {
    const shown = showable(governanceReaders(['public', 'board']), 'governance');
    expect([board, open].map(shown)).toEqual([true, true]);
    expect(showable(governanceReaders(['public']), 'governance')(board)).toBe(false);
    // A private thread or a DM never reaches them, whatever its channel; nor anything, without an audience.
    expect(shown({ ...board, visibility: 'private-thread' })).toBe(false);
    expect(shown({ ...board, visibility: 'dm' })).toBe(false);
    expect(showable(governanceReaders(), undefined)(open)).toBe(false);
    expect(showable(NO_READERS, 'governance')(open)).toBe(false);

    const withheld = evidenceEntry(board, 0, 2, false);
    expect(withheld).toMatchObject({ kind: 'evidence', recordId: 'a', shown: false, text: '' });
    expect(withheld.title).toMatch(/^Dialogue 1 of 2 — 1970-01-01 00:00 UTC — dissonance 0\.90$/);
    expect(promptEvidence(withheld)).toMatch(/\n\(Held where the readers of this proposal may not read it/);
    const kept = evidenceEntry(open, 1, 2, true);
    expect(kept).toMatchObject({ shown: true, text: expect.stringContaining('Task: task b') });
    expect(promptEvidence(kept)).toContain('ROBIN: antithesis b');
  });

  it('finds a withheld dialogue’s words in what would be posted, but not the readers’ own', () => {
    const repeats = repeatsWithheld([board], ['Task: task b']);
    expect(repeats(`RATIONALE: ${SECRET}`)).toBe(true);
    expect(repeats('RATIONALE: ROBIN never weighed the cost.')).toBe(false);
    expect(repeatsWithheld([], [])(SECRET)).toBe(false);
  });
});

describe('forgetting a dialogue in a proposal', () => {
  const codex = parseCodex(readFileSync(REAL_CODEX_PATH, 'utf8'), REAL_CODEX_PATH);
  const proposal = (): Proposal => ({
    ...newProposalRecord(
      { kind: 'amendment', requestedBy: 'system', evidence: ['a', 'b'] },
      { id: 'p1', codex, at: 0 },
    ),
    title: 'Plain title',
    rationale: `Because ${SECRET}.`,
    history: [
      evidenceEntry({ ...dialogue('a', 0.9, 0), task: SECRET }, 0, 2, true),
      evidenceEntry(dialogue('b', 0.9, 0), 1, 2, true),
      { kind: 'review', title: "BRICK's review", text: `It says ${SECRET}.`, at: 0 },
    ],
  });

  it('removes its words and keeps that it was there; what quoted it is cut', () => {
    const change = forgetEvidenceIn(proposal(), new Set(['a']));
    expect(change?.history).toEqual([
      expect.objectContaining({
        recordId: 'a',
        shown: false,
        forgotten: true,
        text: '',
        title: expect.stringMatching(/^Dialogue 1 of 2/),
      }),
      expect.objectContaining({ recordId: 'b', shown: true, text: expect.stringContaining('Task: task b') }),
      expect.objectContaining({ kind: 'review', text: 'It says […].' }),
    ]);
    expect(change?.rationale).toBe('Because […].');
    expect(change?.title).toBe('Plain title');
    expect(JSON.stringify(change)).not.toContain('lake house');
  });

  it('changes nothing for a dialogue it does not cite, or one already forgotten', () => {
    expect(forgetEvidenceIn(proposal(), new Set(['z']))).toBeUndefined();
    const once = { ...proposal(), ...forgetEvidenceIn(proposal(), new Set(['a'])) };
    expect(forgetEvidenceIn(once, new Set(['a']))).toBeUndefined();
  });
});
