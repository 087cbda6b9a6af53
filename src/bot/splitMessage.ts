/** Discord's limit on a message's content. */
export const MESSAGE_LIMIT = 2000;

const FENCE = /^\s*(`{3,}|~{3,})(.*)$/;

interface Line {
  text: string;
  /** The fence opener this line is inside of (after the line), or null. */
  fenceAfter: string | null;
}

/**
 * Splits text into Discord messages of at most `limit` characters: at paragraph breaks when
 * possible, else at line breaks, else at spaces. A code block cut in two is closed at the end
 * of one part and reopened (same language) at the start of the next. Nothing is dropped.
 */
export function splitMessage(text: string, limit = MESSAGE_LIMIT): string[] {
  const trimmed = text.replace(/\s+$/, '');
  if (trimmed.length <= limit) return trimmed ? [trimmed] : [];

  const lines: Line[] = [];
  let fence: string | null = null;
  for (const raw of trimmed.split('\n')) {
    for (const text of hardWrap(raw, limit - 16)) {
      const match = FENCE.exec(text);
      if (match) fence = fence === null ? `${match[1]}${match[2]?.trim() ?? ''}` : null;
      lines.push({ text, fenceAfter: fence });
    }
  }

  const parts: string[] = [];
  let opener: string | null = null;
  let index = 0;
  while (index < lines.length) {
    const prefix = opener ? `${opener}\n` : '';
    let end = index;
    let length = prefix.length;
    while (end < lines.length) {
      const line = lines[end]!;
      const closing = line.fenceAfter ? line.fenceAfter.length + 1 : 0;
      const added = (end > index ? 1 : 0) + line.text.length;
      if (length + added + closing > limit) break;
      length += added;
      end++;
    }
    if (end === index) end = index + 1;
    if (end < lines.length) end = betterBreak(lines, index, end);
    const body = lines.slice(index, end).map((l) => l.text);
    const inside = lines[end - 1]?.fenceAfter ?? null;
    const closer = inside ? `\n${inside.match(/^(`{3,}|~{3,})/)?.[1] ?? '```'}` : '';
    const part = `${prefix}${body.join('\n').trimEnd()}${closer}`.replace(/^\n+/, '');
    if (part.trim()) parts.push(part);
    opener = inside;
    index = end;
    while (index < lines.length && lines[index]!.text.trim() === '' && !opener) index++;
  }
  return parts;
}

/**
 * Moves a cut back to the last blank line outside code (or, failing that, to the last line
 * outside code) when one lies in the second half of the part.
 */
function betterBreak(lines: readonly Line[], start: number, end: number): number {
  const total = lines.slice(start, end).reduce((sum, line) => sum + line.text.length + 1, 0);
  let half = start;
  for (let seen = 0; half < end && seen < total / 2; half++) seen += lines[half]!.text.length + 1;
  for (let i = end - 1; i > half; i--) {
    if (lines[i]!.text.trim() === '' && lines[i - 1]!.fenceAfter === null) return i;
  }
  for (let i = end - 1; i > half; i--) {
    if (lines[i - 1]!.fenceAfter === null) return i;
  }
  return end;
}

/** Cuts a single over-long line at spaces, or anywhere when it has none. */
function hardWrap(line: string, max: number): string[] {
  if (line.length <= max) return [line];
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > max) {
    const space = rest.lastIndexOf(' ', max);
    const cut = space > max / 2 ? space : max;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
  }
  pieces.push(rest);
  return pieces;
}
