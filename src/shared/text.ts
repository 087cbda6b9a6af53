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

/**
 * `text` trimmed and, past `max` characters, cut — never inside a grapheme. Marked `'ellipsis'`
 * (a title, a field, a rationale), it ends in `…` and stays within `max`. Marked `'omitted'` (a
 * prompt), it is cut at a word near the end and says how much was left out, so that a model
 * knows it saw only a part.
 */
export function clip(text: string, max: number, mark: 'ellipsis' | 'omitted' = 'ellipsis'): string {
  const trimmed = text.trim();
  if (mark === 'ellipsis') return truncate(trimmed, max);
  if (trimmed.length <= max) return trimmed;
  // Whole graphemes within `max` units: `truncate` keeps up to one unit less than it is given.
  const cut = truncate(trimmed, trimmed.length > max + 1 ? max + 1 : max).slice(0, -1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.8 ? cut.slice(0, space) : cut).trimEnd()} … [${trimmed.length - max} more characters omitted]`;
}

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
