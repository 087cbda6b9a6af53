// Grapheme clusters — what a reader sees as one character: a letter with its accents, an emoji
// with its skin tone, a ZWJ family, a flag. Cutting text anywhere else leaves a broken glyph
// (half a surrogate pair renders as U+FFFD; half a family renders as loose people).
//
// Node 20's Intl.Segmenter spends time proportional to the whole string on every step of its
// iterator: segmenting 64,000 emoji in one go took minutes. So text is segmented in chunks.
// That gives the same answer because whether a cluster starts at index i depends only on the
// cluster before i and the code point at i (the Unicode rules look back within a cluster, and a
// run of regional indicators pairs up from any cluster start inside it): every boundary a chunk
// (cut between code points) reports before its end is a true boundary, and the next chunk
// starts at the last of them.

// Made when a text first needs it: the first Segmenter in a process loads ICU's break rules
// (tens of milliseconds at start-up); later ones take microseconds, and ASCII text needs none.
const newSegmenter = () => new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** Units per chunk handed to the segmenter (its cost per step grows with the chunk). */
const CHUNK = 128;

/**
 * For every UTF-16 index `0…text.length`, 1 where a grapheme cluster starts (and at the end),
 * 0 inside a cluster: the places where text may be cut. Linear in the text's length.
 * `chunk` is for tests.
 */
export function graphemeBoundaries(text: string, chunk = CHUNK): Uint8Array {
  const flags = new Uint8Array(text.length + 1);
  flags[text.length] = 1;
  let segmenter: Intl.Segmenter | undefined;
  for (let start = 0, size = chunk; start < text.length; ) {
    flags[start] = 1;
    // Between two ASCII characters a cluster always starts, except inside CR LF: no segmenter needed.
    let at = start;
    for (; at + 1 < text.length && text.charCodeAt(at) < 0x80 && text.charCodeAt(at + 1) < 0x80; at++) {
      if (text.charCodeAt(at) !== 13 || text.charCodeAt(at + 1) !== 10) flags[at + 1] = 1;
    }
    if (at + 1 >= text.length) break;
    while (at > start && !flags[at]) at--;
    let end = Math.min(text.length, at + size);
    // A chunk ends between code points: half a surrogate pair would read as a control character.
    if (isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) end++;
    let last = 0;
    segmenter ??= newSegmenter();
    for (const part of segmenter.segment(text.slice(at, end))) {
      flags[at + part.index] = 1;
      last = part.index;
    }
    if (end === text.length) break;
    // The chunk's last cluster may run on past its end: segment again from where it starts,
    // with a longer chunk when it is the only one.
    if (last === 0) size *= 2;
    else size = chunk;
    start = at + last;
  }
  return flags;
}

/** The grapheme clusters of `text`, in order; joined they give back `text`. */
export function graphemes(text: string): string[] {
  const flags = graphemeBoundaries(text);
  const clusters: string[] = [];
  for (let start = 0, at = 1; at <= text.length; at++) {
    if (!flags[at]) continue;
    clusters.push(text.slice(start, at));
    start = at;
  }
  return clusters;
}

/**
 * At most `max` UTF-16 code units of `text` (Discord's way of counting), cut between grapheme
 * clusters and ending in `…` when it was cut — for thread names (≤ 100), embed titles and fields.
 * Returns `text` unchanged when it fits; `''` when `max` < 1.
 */
export function truncateGraphemes(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 1) return '';
  // Only the first max − 1 units can be kept. Whether a place among them is a boundary depends on
  // the code point after it, which may be two units long (the second half of a flag's pair of
  // regional indicators, say): read one unit further, so it is whole.
  const flags = graphemeBoundaries(text.slice(0, max + 1));
  let end = max - 1;
  while (end > 0 && !flags[end]) end--;
  return `${text.slice(0, end)}…`;
}
