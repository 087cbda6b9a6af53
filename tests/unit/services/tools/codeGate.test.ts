import { describe, expect, it } from 'vitest';
import { checkToolCode, MAX_TOOL_CODE_CHARS } from '../../../../src/services/tools/codeGate.ts';

const problemsOf = (code: string) => {
  const verdict = checkToolCode(code);
  return verdict.ok ? [] : verdict.problems;
};

describe('the static gate', () => {
  it('passes one entry function with helpers and constants', () => {
    expect(
      checkToolCode(`'use strict';
const FACTOR = 1.8;
function toF(c) { return c * FACTOR + 32; }
async function run(input) { return { fahrenheit: toF(input.celsius) }; }`),
    ).toEqual({ ok: true });
  });

  it('refuses code that does not parse, with the reason', () => {
    expect(problemsOf('function run( { return 1 }')[0]).toMatch(/does not parse/);
  });

  it('requires exactly one function run', () => {
    expect(problemsOf('function go() {}')).toEqual([expect.stringMatching(/no entry function/)]);
    expect(problemsOf('function run() {}\nfunction run() {}')).toContainEqual(
      expect.stringMatching(/defined 2 times/),
    );
    expect(problemsOf('const run = () => 1;')).toContainEqual(expect.stringMatching(/function declaration/));
  });

  it('refuses top-level code that would run at load time', () => {
    expect(problemsOf('function run() {}\nrun();')).toContainEqual(
      expect.stringMatching(/line 2: top-level ExpressionStatement/),
    );
  });

  it.each([
    ['import', "import fs from 'fs';\nfunction run() {}", /import\/export/],
    ['dynamic import', "function run() { return import('fs'); }", /import\(\)/],
    ['require', "function run() { return require('fs'); }", /`require`/],
    ['eval', "function run() { return eval('1'); }", /`eval`/],
    ['Function', "function run() { return new Function('return 1')(); }", /`Function`/],
    ['process', 'function run() { return process.env; }', /`process`/],
    ['globalThis', 'function run() { return globalThis; }', /`globalThis`/],
    ['fetch', "function run() { return fetch('http://x'); }", /`fetch`/],
    ['constructor', "function run() { return (() => 1).constructor('return this')(); }", /\.constructor/],
    ['computed constructor', "function run(x) { return x['constructor']; }", /\.constructor/],
    ['__proto__', 'function run(x) { return x.__proto__; }', /__proto__/],
  ])('refuses %s', (_name, code, pattern) => {
    expect(problemsOf(code).join('\n')).toMatch(pattern);
  });

  it('does not mistake property names for globals', () => {
    expect(checkToolCode('function run(x) { return { process: x.require, eval: 1 }; }')).toEqual({
      ok: true,
    });
  });

  it('refuses code over the size limit', () => {
    const code = `function run() { return '${'x'.repeat(MAX_TOOL_CODE_CHARS)}'; }`;
    expect(problemsOf(code)[0]).toMatch(/over the limit/);
  });
});
