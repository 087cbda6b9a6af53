import { graphemeBoundaries } from '../../shared/graphemes.ts';

/** Discord's limit on a message's content. */
export const MESSAGE_LIMIT = 2000;

/** The smallest `limit` {@link splitMessage} accepts (a part must hold a reopened fence and text). */
export const MIN_SPLIT_LIMIT = 200;

/** How many messages one turn may post before the rest goes into a file ({@link planPosts}). */
export const DEFAULT_MAX_POSTS = 4;

/**
 * Units of each part kept for fence closers and openers (at most 42: a 10-character marker, a
 * 20-character tag and two newlines) and for choosing a good break; the bound on the number
 * of parts counts `limit - RESERVE` units of text per part.
 */
const RESERVE = 100;
const MAX_TAG = 20;
/** Lines are classified on their first HEAD units: a fence marker and its padding fit in 32. */
const HEAD = 64;

/**
 * A fence line: up to 10 spaces or tabs, then 3 to 10 backticks or tildes (exactly that many:
 * a longer run is text). A fence opens a block outside one; inside a block, a fence of the same
 * character, at least as long, followed by at most 10 spaces or tabs and nothing else, closes
 * it. This is CommonMark's rule with bounds, so that every marker the splitter repeats is short
 * and a long run of backticks cut in two does not turn into fences.
 */
const FENCE = /^[ \t]{0,10}(?:(`{3,10})(?!`)|(~{3,10})(?!~))/;
const CLOSER_REST = /^[ \t]{0,10}\r?$/;
/** A plausible language tag: the info string's first word, in the characters Discord accepts. */
const TAG = /[ \t]*([A-Za-z0-9_+.#-]+)(?=\s|$)/y;
const NON_SPACE = /\S/g;

interface Fence {
  char: string;
  run: number;
  /** The language to reopen the block with ('' when none or not plausible). */
  tag: string;
}

type LineEvent =
  | { kind: 'none' }
  | { kind: 'close' }
  | { kind: 'open'; char: string; run: number; infoAt: number };

const NONE: LineEvent = { kind: 'none' };
const CLOSE: LineEvent = { kind: 'close' };

/** What the line `text[start, end)` does when the block `inside` (or none) is open before it. */
function lineEvent(text: string, start: number, end: number, inside: Fence | null): LineEvent {
  const head = text.slice(start, Math.min(end, start + HEAD));
  const match = FENCE.exec(head);
  const marker = match?.[1] ?? match?.[2];
  if (!match || !marker) return NONE;
  const char = marker.charAt(0);
  if (!inside) return { kind: 'open', char, run: marker.length, infoAt: start + match[0].length };
  const closes =
    char === inside.char &&
    marker.length >= inside.run &&
    end - start <= HEAD &&
    CLOSER_REST.test(head.slice(match[0].length));
  return closes ? CLOSE : NONE;
}

const sameEvent = (a: LineEvent, b: LineEvent) =>
  a.kind === b.kind && (a.kind !== 'open' || (b.kind === 'open' && a.char === b.char && a.run === b.run));

function tagAt(text: string, at: number): string {
  TAG.lastIndex = at;
  return TAG.exec(text)?.[1]?.slice(0, MAX_TAG) ?? '';
}

const openerOf = (fence: Fence) => `${fence.char.repeat(fence.run)}${fence.tag}\n`;
const closerOf = (fence: Fence | null) => (fence ? `\n${fence.char.repeat(fence.run)}` : '');

/** The text, cut into lines, with the fence state around each line. */
interface Doc {
  text: string;
  limit: number;
  boundary: Uint8Array;
  starts: number[];
  /** Index of each line's `\n` (or the text's length). */
  ends: number[];
  blank: boolean[];
  events: LineEvent[];
  before: Array<Fence | null>;
  after: Array<Fence | null>;
}

function analyse(text: string, limit: number): Doc {
  const doc: Doc = {
    text,
    limit,
    boundary: graphemeBoundaries(text),
    starts: [],
    ends: [],
    blank: [],
    events: [],
    before: [],
    after: [],
  };
  let inside: Fence | null = null;
  for (let start = 0; ; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const event = lineEvent(text, start, end, inside);
    doc.before.push(inside);
    if (event.kind === 'open') inside = { char: event.char, run: event.run, tag: tagAt(text, event.infoAt) };
    if (event.kind === 'close') inside = null;
    doc.starts.push(start);
    doc.ends.push(end);
    doc.blank.push(!/\S/.test(text.slice(start, end)));
    doc.events.push(event);
    doc.after.push(inside);
    if (newline === -1) return doc;
    start = newline + 1;
  }
}

/** The line holding index `at`. */
function lineAt(doc: Doc, at: number): number {
  let low = 0;
  let high = doc.starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (doc.starts[mid]! <= at) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * A place to cut: the part keeps `text[p, end)`, `text[end, resume)` (whitespace only) is
 * dropped, the next part starts at `resume`; `inside` is the block open at the cut.
 */
interface Cut {
  end: number;
  resume: number;
  inside: Fence | null;
}

/** Whitespace within a line (anything but the line break). */
const isBlank = (char: string | undefined) => char !== undefined && char !== '\n' && /\s/.test(char);
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * Chooses where the part starting at `p` ends: the last paragraph break outside code in the
 * part's second half, else the last line break outside code, else one inside code (the block
 * is closed and reopened), else the last run of spaces; failing those, the last grapheme
 * boundary. A cut must leave at least `lo` consumed (so the part count stays in its bound) and
 * must not change what any line means to the fences (no cut that turns a piece of a line into a
 * fence, or a fence into text).
 */
function chooseCut(doc: Doc, p: number, openerLength: number, lo: number): Cut {
  const { text, boundary, starts, ends, blank, events, before, after } = doc;
  const budget = doc.limit - openerLength;
  const half = p + Math.floor(budget / 2);
  NON_SPACE.lastIndex = p;
  const first = NON_SPACE.exec(text)?.index ?? text.length;
  const fits = (end: number, inside: Fence | null) =>
    end > first && end - p + (inside ? inside.run + 1 : 0) <= budget;

  // Whether the piece of line `li` that ends the part at `end` means to the fences what the whole line does.
  const piecePrefixOk = (li: number, end: number) =>
    p > starts[li]! || sameEvent(lineEvent(text, starts[li]!, end, before[li]!), events[li]!);

  // Line breaks: the part ends with a whole line; blank lines at the cut are dropped.
  const byClass: Array<Cut | undefined> = [];
  let early: Cut | undefined;
  // From the first line that starts past the budget: its predecessor may still fit once trimmed.
  let top = Math.min(starts.length - 1, lineAt(doc, p + budget) + 1);
  while (blank[top]) top++;
  for (let j = top; j > 0 && starts[j]! > p; j--) {
    if (starts[j]! < lo) break;
    if (blank[j]) continue;
    let i = j - 1;
    while (i >= 0 && blank[i]) i--;
    if (i < 0) break;
    let end = ends[i]!;
    // A CR before the cut belongs to the dropped line break (CR LF is one grapheme).
    if (text[end - 1] === '\r' && end - 1 >= starts[i]!) end--;
    // Trailing spaces go too, unless that would change what the line means to the fences.
    let trimmed = end;
    while (trimmed > p && isBlank(text[trimmed - 1])) trimmed--;
    if (trimmed < end && boundary[trimmed] && piecePrefixOk(i, trimmed)) end = trimmed;
    const inside = before[j]!;
    if (!fits(end, inside)) continue;
    const cut = { end, resume: starts[j]!, inside };
    if (end < half) {
      early = cut;
      break;
    }
    // Right after an opener or right before a closer, a part would show an empty block: still
    // better than cutting a line of code.
    const awkward = inside && (events[i]!.kind === 'open' || events[j]!.kind === 'close');
    const kind = awkward ? 3 : inside ? 2 : j - i > 1 ? 0 : 1;
    byClass[kind] ??= cut;
    if (kind === 0) break;
  }
  const line = byClass[0] ?? byClass[1] ?? byClass[2] ?? byClass[3];
  if (line) return line;

  // Within a line: a run of spaces (dropped), else between two graphemes.
  const continuationOk = (at: number) => !FENCE.test(text.slice(at, at + 32));
  let fallback: Cut | undefined;
  let rough: Cut | undefined;
  let li = lineAt(doc, Math.min(text.length, p + budget));
  for (let x = Math.min(text.length - 1, p + budget); x > first; x--) {
    if (fallback && x < half) break;
    while (x < starts[li]!) li--;
    if (x === starts[li]) continue;
    const inside = after[li]!;
    if (!fits(x, inside)) continue;
    const char = text[x];
    if (isBlank(char)) {
      if (isBlank(text[x - 1]) || x >= ends[li]!) continue;
      let resume = x;
      while (isBlank(text[resume])) resume++;
      if (resume >= ends[li]! || !boundary[x] || !boundary[resume]) continue;
      // Spaces before a fence marker: keep 11 of them, so that the next part does not open with a fence.
      if (!continuationOk(resume)) resume -= 11;
      // Spaces after one: keep 11 of them, so that this part does not end with a fence line.
      let end = x;
      if (!piecePrefixOk(li, end)) end += 11;
      if (resume < end || resume < lo || !boundary[resume] || !piecePrefixOk(li, end) || !fits(end, inside))
        continue;
      const cut = { end, resume, inside };
      if (end >= half) return cut;
      fallback ??= cut;
      continue;
    }
    // Between two non-spaces (a run of spaces is cut as such; and CR + the closer's LF would merge).
    if (x < lo || /\s/.test(char ?? '') || isBlank(text[x - 1])) continue;
    if (isLowSurrogate(text.charCodeAt(x)) && isHighSurrogate(text.charCodeAt(x - 1))) continue;
    if (!continuationOk(x) || !piecePrefixOk(li, x)) continue;
    const cut = { end: x, resume: x, inside };
    if (boundary[x]) fallback ??= cut;
    // Only a grapheme longer than the window (hostile text) leaves no boundary: cut between code points.
    rough ??= cut;
  }
  // A line break early in the part still beats a cut in the middle of a word before it.
  const chosen = early && (!fallback || early.end >= fallback.end) ? early : (fallback ?? rough);
  if (chosen) return chosen;
  // Unreachable for any input we could construct; cut where the budget ends rather than fail.
  let end = Math.max(first + 1, Math.min(text.length - 1, p + budget - 11));
  if (isLowSurrogate(text.charCodeAt(end)) && end - 1 > p) end--;
  return { end, resume: end, inside: after[lineAt(doc, end)]! };
}

/**
 * Where the next part really starts: past blank lines, and past all but 11 spaces of an
 * indentation over a quarter of a part (11, so that what follows cannot read as a fence).
 */
function resumeAt(doc: Doc, at: number): number {
  const { text, starts, blank } = doc;
  let line = lineAt(doc, at);
  if (starts[line] === at) {
    while (blank[line]) line++;
    at = starts[line]!;
  }
  let content = at;
  while (isBlank(text[content])) content++;
  return content - at > doc.limit / 4 ? content - 11 : at;
}

interface Plan {
  body: string;
  parts: string[];
  /** Where each part starts in `body`, and the block it reopens. */
  starts: Array<{ at: number; inside: Fence | null }>;
}

function planParts(text: string, limit: number): Plan {
  if (!Number.isInteger(limit) || limit < MIN_SPLIT_LIMIT) {
    throw new RangeError(`a message limit must be an integer of at least ${MIN_SPLIT_LIMIT}, not ${limit}`);
  }
  const body = text.trimEnd();
  if (!body) return { body, parts: [], starts: [] };
  if (body.length <= limit) return { body, parts: [body], starts: [{ at: 0, inside: null }] };
  const doc = analyse(body, limit);
  const bound = maxSplitParts(body.length, limit);
  const plan: Plan = { body, parts: [], starts: [] };
  let at = resumeAt(doc, 0);
  let inside: Fence | null = null;
  for (;;) {
    const opener = inside ? openerOf(inside) : '';
    plan.starts.push({ at, inside });
    if (opener.length + body.length - at <= limit) {
      plan.parts.push(opener + body.slice(at));
      return plan;
    }
    // The least this part must take so that cutting the rest at full length stays in the bound.
    const lo = body.length - (limit - RESERVE) * (bound - plan.parts.length - 1);
    const cut = chooseCut(doc, at, opener.length, lo);
    plan.parts.push(opener + body.slice(at, cut.end) + closerOf(cut.inside));
    at = resumeAt(doc, cut.resume);
    inside = cut.inside;
  }
}

/**
 * The most parts {@link splitMessage} makes of a text of `length` UTF-16 units:
 * ⌈length / (limit − 100)⌉ + 1 — for Discord's 2000, ⌈length / 1900⌉ + 1.
 */
export function maxSplitParts(length: number, limit = MESSAGE_LIMIT): number {
  return length === 0 ? 0 : Math.ceil(length / (limit - RESERVE)) + 1;
}

/**
 * Splits text into Discord messages.
 *
 * - Every part is at most `limit` UTF-16 code units (`part.length <= limit`; Discord counts
 *   characters, never more than code units), and holds something other than whitespace.
 * - There are at most {@link maxSplitParts}`(text.length, limit)` parts:
 *   ⌈length / (limit − 100)⌉ + 1, so ⌈length / 1900⌉ + 1 for Discord's 2000.
 * - Cuts fall between grapheme clusters: never inside a surrogate pair, an emoji ZWJ sequence,
 *   a flag or a letter with its combining marks. (Only a single cluster too long for a part —
 *   hostile text, such as a letter with thousands of combining marks — is cut, between code
 *   points.)
 * - In the part's second half, a cut goes at the last paragraph break outside code, else the
 *   last line break outside code, else the last one inside code, else the last run of spaces;
 *   failing all of those, at the last grapheme boundary.
 * - Fences: a line of at most 10 spaces or tabs, then 3 to 10 backticks or tildes (a longer run
 *   is text), opens a block; inside one, such a line with the same character, at least as
 *   many, then at most 10 spaces or tabs and nothing else, closes it (CommonMark's rule, with
 *   bounds). A block cut in two is closed at the end of one part (`\n` and its marker) and
 *   reopened at the start of the next (its marker, its language tag and `\n`; the tag is the
 *   info string's first word, kept only if made of `[A-Za-z0-9_+.#-]`, clipped to 20). No cut
 *   makes a piece of a line read as a fence or a fence as text. If the text's fences are
 *   balanced, so are every part's; if the text leaves a block open, only the last part does.
 * - Nothing is lost: `text` = w₀ c₁ w₁ c₂ … cₙ wₙ, where cᵢ is part i without the fence line
 *   the splitter added at its start and the one it added at its end, and each wᵢ is whitespace
 *   only (the line break, blank lines and trailing spaces at a cut between lines; the run of
 *   spaces at a cut inside a line; an indentation over a quarter of a part beyond 11 spaces;
 *   leading blank lines and trailing whitespace of the text).
 *
 * @throws RangeError when `limit` is not an integer of at least {@link MIN_SPLIT_LIMIT}.
 */
export function splitMessage(text: string, limit = MESSAGE_LIMIT): string[] {
  return planParts(text, limit).parts;
}

/** What one turn posts: at most `maxParts` messages, the rest as a file. */
export interface PostPlan {
  /** Messages to post, in order, each within the limit. */
  parts: string[];
  /**
   * The text the parts leave out, when posting it all would take more than `maxParts`
   * messages: attach it as a file with a line such as "…the rest is attached" (that message
   * is the `maxParts`-th). Starts with the reopened code block when the cut fell inside one.
   */
  overflow?: string;
}

export interface PlanPostsOptions {
  /** Characters per message (default {@link MESSAGE_LIMIT}). */
  limit?: number;
  /** Messages one turn may post, counting the one that carries the overflow (default 4, at least 1). */
  maxParts?: number;
}

/**
 * Caps one turn's posts: the parts of {@link splitMessage} when there are at most `maxParts`,
 * else the first `maxParts − 1` parts and the rest of the text as `overflow`. Pure.
 */
export function planPosts(text: string, options: PlanPostsOptions = {}): PostPlan {
  const limit = options.limit ?? MESSAGE_LIMIT;
  const maxParts = options.maxParts ?? DEFAULT_MAX_POSTS;
  if (!Number.isInteger(maxParts) || maxParts < 1) {
    throw new RangeError(`maxParts must be an integer of at least 1, not ${maxParts}`);
  }
  const plan = planParts(text, limit);
  if (plan.parts.length <= maxParts) return { parts: plan.parts };
  const keep = maxParts - 1;
  const rest = plan.starts[keep]!;
  return {
    parts: plan.parts.slice(0, keep),
    overflow: (rest.inside ? openerOf(rest.inside) : '') + plan.body.slice(rest.at),
  };
}
