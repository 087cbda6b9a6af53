import { describe, expect, it } from 'vitest';
import {
  ADAPTERS_REFUSED_FROM,
  compareVersions,
  isAdapterRefusal,
  parseVersion,
  takesAdapters,
} from '../../../../src/services/finetune/ollamaVersion.ts';
import { ADAPTERS_REFUSED } from '../../../support/ollamaRegistry.ts';

describe('Ollama versions', () => {
  it('reads a version in the forms servers report, and nothing from one that says nothing', () => {
    expect(parseVersion('0.34.1')).toEqual([0, 34, 1]);
    expect(parseVersion('v0.34.1')).toEqual([0, 34, 1]);
    expect(parseVersion(' 0.35 ')).toEqual([0, 35, 0]);
    expect(parseVersion('0.34.1-rc2')).toEqual([0, 34, 1]);
    expect(parseVersion('1.2.3+build.5')).toEqual([1, 2, 3]);
    // A build from source reports 0.0.0; garbage and absence say nothing either.
    expect(parseVersion('0.0.0')).toBeUndefined();
    expect(parseVersion('latest')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
    expect(parseVersion(undefined)).toBeUndefined();
  });

  it('compares versions number by number, not as text', () => {
    expect(compareVersions([0, 9, 0], [0, 34, 1])).toBeLessThan(0);
    expect(compareVersions([0, 34, 10], [0, 34, 9])).toBeGreaterThan(0);
    expect(compareVersions([1, 0, 0], [0, 99, 99])).toBeGreaterThan(0);
    expect(compareVersions([0, 34, 1], [0, 34, 1])).toBe(0);
  });

  it('knows which servers still create models from adapters: below 0.34.1', () => {
    expect(ADAPTERS_REFUSED_FROM).toBe('0.34.1');
    expect(takesAdapters('0.12.6')).toBe(true);
    expect(takesAdapters('0.33.9')).toBe(true);
    expect(takesAdapters('0.34.0')).toBe(true);
    expect(takesAdapters('0.34.1')).toBe(false);
    // A release candidate of 0.34.1 already carries the change.
    expect(takesAdapters('0.34.1-rc1')).toBe(false);
    expect(takesAdapters('0.40.0')).toBe(false);
    expect(takesAdapters('1.0.0')).toBe(false);
    expect(takesAdapters('0.0.0')).toBeUndefined();
    expect(takesAdapters(undefined)).toBeUndefined();
  });

  it('recognises Ollama’s refusal of adapters in an error message', () => {
    expect(isAdapterRefusal(`Ollama refused to create x: ${ADAPTERS_REFUSED}`)).toBe(true);
    expect(isAdapterRefusal('lora adapters are no longer supported')).toBe(true);
    expect(isAdapterRefusal('unsupported architecture')).toBe(false);
  });
});
