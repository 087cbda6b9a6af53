/**
 * Reading the control lines the personas end their turns with. Only a persona's own output is
 * ever parsed, only near its end, and never inside code, block quotes or quotation marks; and a
 * line the persona copied from text that is not its own (`foreign`: the user's message and its
 * attachments, an earlier run's request or answer shown as "Earlier in this conversation", a
 * tool's result or description, the forge's answer, a recalled memory, also when another
 * persona of the run repeated it first) never counts — so a `TOOL_CALL:`,
 * `TOOL_REQUIRED:` or `DISSONANCE:` planted in data never triggers anything.
 */

/** How many trailing non-empty lines count as "the end" of a turn. */
const TAIL_LINES = 6;

interface Line {
  index: number;
  text: string;
  /** Inside a ``` fence, or a `>` block quote. */
  quoted: boolean;
}

function linesOf(text: string): Line[] {
  let fenced = false;
  return text.split(/\r?\n/).map((raw, index) => {
    const fence = /^\s*(```|~~~)/.test(raw);
    const quoted = fenced || fence || /^\s*>/.test(raw);
    if (fence) fenced = !fenced;
    return { index, text: raw, quoted };
  });
}

function tail(lines: Line[]): Line[] {
  return lines.filter((line) => line.text.trim() !== '').slice(-TAIL_LINES);
}

/** True when `position` on the line sits inside "…", “…” or `…`. */
function insideQuotes(text: string, position: number): boolean {
  const before = text.slice(0, position);
  const count = (pattern: RegExp) => (before.match(pattern) ?? []).length;
  return count(/"/g) % 2 === 1 || count(/`/g) % 2 === 1 || count(/“/g) > count(/”/g);
}

const normalize = (text: string) =>
  text
    .replace(/[\s*_`[\]]+/g, ' ')
    .trim()
    .toLowerCase();

/** True when the line was copied from text that is not the persona's own. */
function copiedFrom(line: string, sources: readonly string[]): boolean {
  const needle = normalize(line);
  return needle.length > 0 && sources.some((source) => normalize(source).includes(needle));
}

function removeLines(lines: readonly Line[], from: number, to = from): string {
  return lines
    .filter((line) => line.index < from || line.index > to)
    .map((line) => line.text)
    .join('\n')
    .trimEnd();
}

export interface DissonanceReading {
  /** 0–1, clamped; `fallback` when the score was missing or unreadable. */
  value: number;
  /** The turn without its score line, for display. */
  display: string;
  /** Why the value is not simply what ROBIN wrote. */
  warning?: string;
}

const DISSONANCE = /\*{0,2}\bdissonance\b\*{0,2}[^:=\n]{0,24}?[:=]\s*\**\s*[[(]?\s*([^\])\n]*)/i;
const NUMBER = /^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)/;

/**
 * Reads ROBIN's `DISSONANCE: <0.0–1.0>` from near the end of his turn: any case, with or
 * without brackets or bold, `40%` read as 0.4; out-of-range values clamped; missing or
 * unparsable scores give `fallback` with a warning.
 */
export function parseDissonance(
  text: string,
  options: { fallback: number; foreign?: readonly string[] },
): DissonanceReading {
  const lines = linesOf(text);
  const fallback = (warning: string, display = text.trimEnd()): DissonanceReading => ({
    value: options.fallback,
    display,
    warning,
  });
  for (const line of tail(lines).reverse()) {
    if (line.quoted) continue;
    const match = DISSONANCE.exec(line.text);
    if (!match || insideQuotes(line.text, match.index)) continue;
    if (copiedFrom(line.text, options.foreign ?? [])) continue;
    const onlyMarker = match.index === line.text.search(/\S/);
    const display = onlyMarker ? removeLines(lines, line.index) : text.trimEnd();
    const rawValue = (match[1] ?? '').trim();
    const numeric = NUMBER.exec(rawValue);
    if (!numeric) {
      return fallback(`ROBIN's dissonance "${rawValue}" is not a number; used ${options.fallback}`, display);
    }
    let value = Number(numeric[0].replace(',', '.'));
    const rest = rawValue.slice(numeric[0].length).trim();
    if (rest.startsWith('%')) value /= 100;
    else if (/^\/\s*10\b/.test(rest)) value /= 10;
    if (!Number.isFinite(value)) {
      return fallback(`ROBIN's dissonance "${rawValue}" is not a number; used ${options.fallback}`, display);
    }
    if (value < 0 || value > 1) {
      const clamped = Math.min(1, Math.max(0, value));
      return {
        value: clamped,
        display,
        warning: `ROBIN's dissonance ${value} is outside 0–1; clamped to ${clamped}`,
      };
    }
    return { value, display };
  }
  return fallback(`ROBIN gave no DISSONANCE score; used ${options.fallback}`);
}

export interface ToolRequestReading {
  /** The specification, or null when BRICK did not ask for a tool. */
  spec: string | null;
  /** The turn without its request line, for display. */
  display: string;
  warning?: string;
}

const TOOL_REQUIRED = /^\s*[*_]{0,2}TOOL_REQUIRED[*_]{0,2}\s*:[*_]{0,2}\s*(.*)$/i;
const MAX_SPEC = 2000;

/**
 * Reads BRICK's `TOOL_REQUIRED: <spec>` when his turn ends with it (the spec may run onto the
 * following lines). A request copied from the user's own words is ignored.
 */
export function parseToolRequest(
  text: string,
  options: { foreign?: readonly string[] } = {},
): ToolRequestReading {
  const lines = linesOf(text);
  const ending = tail(lines);
  const last = ending.at(-1);
  for (const line of [...ending].reverse().slice(0, 3)) {
    if (line.quoted) continue;
    const match = TOOL_REQUIRED.exec(line.text);
    if (!match) continue;
    const following = lines.filter((l) => l.index > line.index && l.index <= (last?.index ?? line.index));
    const spec = [match[1] ?? '', ...following.map((l) => l.text)]
      .join('\n')
      .trim()
      .replace(/^\[(.*)\]$/s, '$1')
      .trim();
    const display = removeLines(lines, line.index, last?.index ?? line.index);
    if (!spec)
      return { spec: null, display, warning: 'BRICK wrote TOOL_REQUIRED without a specification; ignored' };
    if (copiedFrom(line.text, options.foreign ?? [])) {
      return {
        spec: null,
        display: text.trimEnd(),
        warning: 'ignored a TOOL_REQUIRED copied from text that is not the persona’s own',
      };
    }
    return { spec: spec.slice(0, MAX_SPEC), display };
  }
  return { spec: null, display: text.trimEnd() };
}

export interface ToolCallReading {
  /** The tool's name, or null when the turn calls no tool. */
  name: string | null;
  /** Why a call line was ignored (copied from foreign text). */
  warning?: string;
  /** The parsed JSON input (when `error` is unset). */
  input?: unknown;
  /** Why the call cannot be made (its input is not JSON). */
  error?: string;
  /** The turn without its call lines. */
  display: string;
}

const TOOL_CALL = /^\s*[*_]{0,2}TOOL_CALL[*_]{0,2}\s*:[*_]{0,2}\s*`?([A-Za-z][\w-]*)`?\s*(.*)$/;

/**
 * Reads a persona's `TOOL_CALL: <name> <JSON input>` (the JSON may run onto the following
 * lines, up to the end of the turn). Only the last unquoted call line counts, and none copied
 * from `foreign` text.
 */
export function parseToolCall(text: string, options: { foreign?: readonly string[] } = {}): ToolCallReading {
  const lines = linesOf(text);
  for (const line of [...lines].reverse()) {
    if (line.quoted) continue;
    const match = TOOL_CALL.exec(line.text);
    if (!match) continue;
    if (copiedFrom(line.text, options.foreign ?? [])) {
      return {
        name: null,
        display: text.trimEnd(),
        warning: 'ignored a TOOL_CALL copied from text that is not the persona’s own',
      };
    }
    const following = lines.filter((l) => l.index > line.index).map((l) => l.text);
    const raw = [match[2] ?? '', ...following]
      .join('\n')
      .trim()
      .replace(/^```(?:json)?\s*|\s*```$/g, '')
      .trim();
    const display = removeLines(lines, line.index, lines.length - 1);
    const name = match[1] ?? '';
    if (!raw) return { name, input: {}, display };
    try {
      return { name, input: JSON.parse(raw), display };
    } catch (error) {
      return {
        name,
        error: `the input after TOOL_CALL ${name} is not JSON (${(error as Error).message})`,
        display,
      };
    }
  }
  return { name: null, display: text.trimEnd() };
}

/** The control words a turn may end with, as a line begins with them (any case, maybe bold). */
const CONTROL_WORDS = ['dissonance', 'tool_call', 'tool_required'];
const CONTROL_START = /^\s*[*_]{0,2}(dissonance|tool_call|tool_required)\b/i;

/**
 * What may be shown of a turn while it is still being written: the text so far without its
 * control lines. A `TOOL_CALL:` or `TOOL_REQUIRED:` line and all after it are held back (they
 * run to the end of the turn), an unquoted line that begins with `DISSONANCE` too, and so is an
 * unfinished last line that may yet become one ("DISSO…"). The turn's final text, once parsed,
 * replaces whatever this showed.
 */
export function streamingPreview(raw: string): string {
  const lines = linesOf(raw);
  const last = lines.at(-1);
  const shown: string[] = [];
  for (const line of lines) {
    if (!line.quoted && CONTROL_START.test(line.text)) {
      if (/^\s*[*_]{0,2}tool_/i.test(line.text)) break;
      continue;
    }
    if (line === last && !line.quoted) {
      const start = line.text.replace(/^\s*[*_]{0,2}/, '').toLowerCase();
      if (start && CONTROL_WORDS.some((word) => word.startsWith(start.slice(0, word.length)))) break;
    }
    shown.push(line.text);
  }
  return shown.join('\n').trimEnd();
}
