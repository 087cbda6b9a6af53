import { describe, expect, it } from 'vitest';
import { planPosts, splitMessage } from '../../../../src/bot/posting/splitMessage.ts';
import { graphemes } from '../../../../src/shared/graphemes.ts';

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ');
const strip = (parts: string[]) => parts.join('\n').replace(/\s+/g, ' ');

describe('splitMessage', () => {
  it('keeps a short text whole', () => {
    expect(splitMessage('Hello')).toEqual(['Hello']);
  });

  it('splits at paragraph breaks, every part within the limit, nothing lost', () => {
    const text = Array.from({ length: 12 }, (_, i) => `Paragraph ${i}. ${words(40)}`).join('\n\n');
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
    for (const part of parts) expect(part.startsWith('Paragraph')).toBe(true);
    expect(strip(parts)).toBe(text.replace(/\s+/g, ' '));
  });

  it('closes and reopens a code block cut in two, keeping its language', () => {
    const code = Array.from({ length: 120 }, (_, i) => `const value${i} = compute(${i}); // step ${i}`).join(
      '\n',
    );
    const text = `Here is the code:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nThat is all.`;
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      // Every part has balanced fences, so Discord renders each as code.
      expect((part.match(/```/g) ?? []).length % 2).toBe(0);
    }
    expect(parts[1]?.startsWith('```ts\n')).toBe(true);
    const codeLines = parts
      .join('\n')
      .split('\n')
      .filter((l) => l.startsWith('const value'));
    expect(codeLines).toHaveLength(120);
  });

  it('prefers a break outside a code block to one inside it', () => {
    const prose = words(200);
    const block = `\`\`\`\n${'x = 1\n'.repeat(100)}\`\`\``;
    const parts = splitMessage(`${prose}\n\n${block}`);
    expect(parts[0]).toBe(prose);
    expect(parts[1]).toBe(block);
  });

  it('cuts a single endless line at spaces, or hard when it has none', () => {
    expect(splitMessage(words(800)).every((p) => p.length <= 2000)).toBe(true);
    const blob = 'x'.repeat(4500);
    const parts = splitMessage(blob);
    expect(parts.join('')).toBe(blob);
    expect(parts.every((p) => p.length <= 2000)).toBe(true);
  });

  it('keeps a long language tag from multiplying the parts (it once made 803 of 6.8 KB)', () => {
    const text = `\`\`\`${'a'.repeat(1990)}\n${'x = 1\n'.repeat(800)}\`\`\``;
    const parts = splitMessage(text);
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(text.length / 1900) + 1);
    // The tag is clipped to 20 characters where the block is reopened.
    expect(parts[1]?.startsWith(`\`\`\`${'a'.repeat(20)}\nx = 1`)).toBe(true);
  });

  it('reopens a block without a tag that is not a plausible language', () => {
    const text = `\`\`\`js<img src=x onerror=alert(1)>\n${'let a = 1;\n'.repeat(300)}\`\`\``;
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts.slice(1)) expect(part.startsWith('```\nlet a')).toBe(true);
  });

  it('posts a 6.5 KB answer in at most ⌈6500 / 1900⌉ + 1 messages, none over 2000', () => {
    const answer = Array.from({ length: 26 }, (_, i) => `${i}. ${words(30)}`).join('\n\n');
    const parts = splitMessage(answer);
    expect(parts.length).toBeLessThanOrEqual(Math.ceil(answer.length / 1900) + 1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
  });

  it('never cuts an emoji family, a flag or a letter from its accent', () => {
    const text = '👨‍👩‍👧‍👦🇫🇷é'.repeat(400);
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(graphemes(part).every((g) => ['👨‍👩‍👧‍👦', '🇫🇷', 'é'].includes(g))).toBe(true);
    }
    expect(parts.join('')).toBe(text);
  });

  it('cuts a single grapheme too long for a part between code points, never in a surrogate pair', () => {
    const text = `😀${'\u0301'.repeat(2500)}${'😀'.repeat(1000)}`;
    const parts = splitMessage(text);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(part)).toBe(false);
    }
    expect(parts.join('')).toBe(text);
  });

  it('cuts within the spaces after a fence-like line rather than inside a grapheme (found by fast-check)', () => {
    const zalgo = 'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d';
    const text = `\n\`\`\`\n\`\`\`\`\`\`${' '.repeat(238)}${zalgo}👨‍👩‍👧‍👦`;
    const parts = splitMessage(text, 259);
    expect(parts.some((part) => part.includes(`${zalgo}👨‍👩‍👧‍👦`))).toBe(true);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(259);
  });

  it('drops the CR of a CR LF at a cut, so no part ends in half a line break', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i} ${words(6)}`).join('\r\n');
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.endsWith('\r')).toBe(false);
    expect(parts.join('\r\n')).toBe(text);
  });

  it('refuses a limit too small to hold a reopened block', () => {
    expect(() => splitMessage('text', 100)).toThrow(RangeError);
  });
});

describe('planPosts', () => {
  const long = Array.from({ length: 40 }, (_, i) => `Paragraph ${i}. ${words(40)}`).join('\n\n');

  it('posts every part when they are few enough', () => {
    expect(planPosts('Hello')).toEqual({ parts: ['Hello'] });
    const parts = splitMessage(long);
    expect(planPosts(long, { maxParts: parts.length })).toEqual({ parts });
  });

  it('posts maxParts − 1 parts and returns the rest as overflow when more would be needed', () => {
    const all = splitMessage(long);
    expect(all.length).toBeGreaterThan(4);
    const plan = planPosts(long);
    expect(plan.parts).toEqual(all.slice(0, 3));
    // Nothing is lost: the posted parts and the overflow together are the text.
    expect(`${plan.parts.join('\n\n')}\n\n${plan.overflow}`).toBe(long);
  });

  it('reopens the code block the overflow starts inside', () => {
    const code = Array.from({ length: 400 }, (_, i) => `print(${i})  # step ${i}`).join('\n');
    const plan = planPosts(`\`\`\`python\n${code}\n\`\`\``, { maxParts: 2 });
    expect(plan.parts).toHaveLength(1);
    expect(plan.parts[0]?.endsWith('\n```')).toBe(true);
    expect(plan.overflow?.startsWith('```python\nprint(')).toBe(true);
    expect(plan.overflow?.endsWith('\n```')).toBe(true);
  });

  it('puts everything in the overflow when only one message is allowed', () => {
    expect(planPosts(long, { maxParts: 1 })).toEqual({ parts: [], overflow: long });
    expect(planPosts('short', { maxParts: 1 })).toEqual({ parts: ['short'] });
  });

  it('uses the limit it is given', () => {
    const plan = planPosts(long, { limit: 500, maxParts: 3 });
    expect(plan.parts).toHaveLength(2);
    for (const part of plan.parts) expect(part.length).toBeLessThanOrEqual(500);
  });
});
