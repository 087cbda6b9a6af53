/**
 * Pure text helpers that every layer may use (the graph included): no I/O, no dependencies.
 */
import { truncateGraphemes } from './graphemes.ts';

/**
 * At most `max` UTF-16 code units of `text` (as Discord and JavaScript count length), ending in
 * `…` when it was cut. Never cuts inside a grapheme: an emoji, a flag or a letter with its
 * accents stays whole or goes whole.
 */
export const truncate = truncateGraphemes;

/** `count` and the noun, pluralised with an `s` when it is not one: `1 dialogue`, `3 dialogues`. */
export function plural(count: number, noun: string, pluralForm = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralForm}`;
}

/** Bytes for people: `999 B`, `1.5 KB`, `12 MB` (powers of 1000). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
