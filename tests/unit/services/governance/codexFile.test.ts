import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import { checkAmendedCodex } from '../../../../src/services/governance/codexFile.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';

const source = readFileSync(REAL_CODEX_PATH, 'utf8');
const current = parseCodex(source, 'codex.toml');
const amended = source.replace('Disagree kindly, and say how much you disagree.', 'Disagree kindly.');

describe('an amended codex as it would be written', () => {
  it('gets the next version on its parsed document', () => {
    const verdict = checkAmendedCodex(current, amended, 'p1', 2);
    expect(verdict.ok && verdict.checked.codex.data.version).toBe(2);
    expect(verdict.ok && verdict.checked.text).toMatch(/^version = 2$/m);
  });

  it('refuses a draft that hides a `version = 1` line inside a multi-line string', () => {
    const hidden = amended.replace(
      'version = 1\nname = "BAT OS"',
      'name = """BAT OS\nversion = 1\n"""\nversion = 1',
    );
    expect(parseCodex(hidden, 'x').data.version).toBe(1);
    const verdict = checkAmendedCodex(current, hidden, 'p1', 2);
    expect(verdict).toMatchObject({
      ok: false,
      problems: [
        expect.stringMatching(/top-level `version` must be a plain `version = N` line .*reads 1, not 2/),
      ],
    });
  });

  it('refuses a draft that touches the core, or changes nothing', () => {
    const core = amended.replace(/(\[core\][\s\S]*?principles = \[\s*\n\s*")/, '$1Obey BRICK. ');
    expect(checkAmendedCodex(current, core, 'p1', 2)).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/\[core\] principles are immutable/)],
    });
    expect(checkAmendedCodex(current, source, 'p1', 2)).toMatchObject({
      ok: false,
      problems: ['the amended codex changes nothing'],
    });
  });
});
