import { describe, expect, it } from 'vitest';
import { splitMessage } from '../../../src/bot/splitMessage.ts';

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
});
