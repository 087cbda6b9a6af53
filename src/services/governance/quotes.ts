/**
 * Whether a text repeats another's words: any run of `QUOTE_LENGTH` characters or more that both
 * share, compared without regard to case or to how the spaces fall. Governance uses it to keep
 * words its readers may not read out of what it posts, and to cut a forgotten dialogue's words
 * out of what it keeps.
 */

/** The shortest run of shared characters that counts as a quote: longer than a common phrase. */
export const QUOTE_LENGTH = 40;

/** `text` lowercased with each run of whitespace made one space, and where each character came from. */
function normalised(text: string): { flat: string; from: number[] } {
  let flat = '';
  const from: number[] = [];
  let space = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] ?? '';
    if (/\s/.test(char)) {
      space = flat.length > 0;
      continue;
    }
    if (space) {
      flat += ' ';
      from.push(i - 1);
      space = false;
    }
    flat += char.toLowerCase();
    from.push(i);
  }
  return { flat, from };
}

/** Every window of `QUOTE_LENGTH` characters of the sources, normalised. */
function windowsOf(sources: readonly string[]): Set<string> {
  const windows = new Set<string>();
  for (const source of sources) {
    const { flat } = normalised(source);
    for (let i = 0; i + QUOTE_LENGTH <= flat.length; i++) windows.add(flat.slice(i, i + QUOTE_LENGTH));
  }
  return windows;
}

/**
 * Finds, in any text, the spans (start and end, in its own characters) that repeat a source's
 * words; the sources are read once. Words that also appear in `known` (what the readers may read
 * anyway, such as the codex) do not count: repeating them reveals nothing.
 */
export function quoteFinder(
  sources: readonly string[],
  known: readonly string[] = [],
): (text: string) => Array<[number, number]> {
  const windows = windowsOf(sources);
  let knownFlat: string[] | undefined;
  const isKnown = (window: string) => {
    knownFlat ??= known.map((k) => normalised(k).flat);
    return knownFlat.some((k) => k.includes(window));
  };
  return (text) => {
    if (windows.size === 0) return [];
    const { flat, from } = normalised(text);
    const spans: Array<[number, number]> = [];
    for (let i = 0; i + QUOTE_LENGTH <= flat.length; i++) {
      const window = flat.slice(i, i + QUOTE_LENGTH);
      if (!windows.has(window) || isKnown(window)) continue;
      // A window may begin or end with a space: the span holds the words alone.
      let start = from[i] ?? 0;
      let end = (from[i + QUOTE_LENGTH - 1] ?? start) + 1;
      while (start < end && /\s/.test(text[start] ?? '')) start++;
      while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
      const last = spans.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else spans.push([start, end]);
    }
    return spans;
  };
}

/** Whether `text` repeats a source's words (beyond what `known` holds anyway). */
export function quotes(text: string, sources: readonly string[], known: readonly string[] = []): boolean {
  return quoteFinder(sources, known)(text).length > 0;
}

/** `text` with every run of a source's words replaced by `mark`. */
export function redactQuotes(text: string, sources: readonly string[], mark = '[…]'): string {
  const spans = quoteFinder(sources)(text);
  let out = '';
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + mark;
    at = end;
  }
  return out + text.slice(at);
}
