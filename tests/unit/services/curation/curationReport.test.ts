import { describe, expect, it } from 'vitest';
import {
  countVerdict,
  emptyReport,
  type RunVerdict,
  summaryLine,
  tallyOf,
} from '../../../../src/services/curation/curationReport.ts';

const verdictOf = (persona: string, status: RunVerdict['status'], total: number | null): RunVerdict => ({
  interactionId: `i-${persona}-${total}`,
  seq: 1,
  persona,
  status,
  total,
  scores: null,
  reason: 'r',
  rubricVersion: 'c1-000000000000',
  judge: 'ALFRED',
  judgeModel: 'm',
  kept: (total ?? 0) >= 4,
  judgedAt: 0,
  conversationId: 'c',
  task: 't',
});

describe('the curation report', () => {
  it('tallies each persona’s verdicts and keeps the run’s best and worst valid ones', () => {
    const report = emptyReport(false, 0, 0);
    countVerdict(report, verdictOf('BRICK', 'judged', 5));
    countVerdict(report, verdictOf('BRICK', 'judged', 2));
    countVerdict(report, verdictOf('ROBIN', 'invalid', null));
    countVerdict(report, verdictOf('ROBIN', 'incomplete', null));
    expect(report.personas).toEqual({
      BRICK: {
        judged: 2,
        kept: 1,
        rejected: 1,
        invalid: 0,
        incomplete: 0,
        added: 0,
        duplicates: 0,
        withheld: 0,
      },
      ROBIN: {
        judged: 0,
        kept: 0,
        rejected: 0,
        invalid: 1,
        incomplete: 1,
        added: 0,
        duplicates: 0,
        withheld: 0,
      },
    });
    expect([report.best?.total, report.worst?.total]).toEqual([5, 2]);
    expect(report.verdicts).toHaveLength(4);
  });

  it('reads as one line: busy, nothing new, a dry run, a run that kept or stopped', () => {
    const busy = { ...emptyReport(false, 0, 0), busy: 7 };
    expect(summaryLine(busy)).toBe('another process (pid 7) is curating; nothing done');
    expect(summaryLine(emptyReport(false, 0, 0))).toBe('nothing new to curate');
    const dry = emptyReport(true, 0, 0);
    countVerdict(dry, verdictOf('BRICK', 'judged', 5));
    dry.dialogues = 1;
    expect(summaryLine(dry)).toBe('dry run: judged 1 dialogue, would keep BRICK 1 of 1; nothing written');
    const run = { ...emptyReport(false, 0, 0), dialogues: 2, more: true, stopped: 'shutting down' };
    tallyOf(run, 'BRICK').added = 3;
    expect(summaryLine(run)).toBe('curated 2 dialogues: BRICK +3 (more waiting); stopped: shutting down');
  });
});

describe('the curation report of what was left out', () => {
  it('says how many dialogues were outside the scope and how many samples were over a member’s daily cap', () => {
    const nothing = { ...emptyReport(false, 0, 0), excluded: 2 };
    expect(summaryLine(nothing)).toBe(
      'nothing new to curate; 2 dialogues outside CURATION_SCOPE or forgotten',
    );

    const report = { ...emptyReport(false, 0, 0), dialogues: 1, excluded: 1 };
    countVerdict(report, verdictOf('BRICK', 'judged', 5));
    Object.assign(tallyOf(report, 'BRICK'), { added: 1, capped: 2 });
    expect(summaryLine(report)).toBe(
      'curated 1 dialogue: BRICK +1; 2 samples over CURATION_MEMBER_DAILY; 1 dialogue outside CURATION_SCOPE or forgotten',
    );
  });
});
