/**
 * What an Ollama server's version says about what it accepts. From v0.34.1
 * (ollama/ollama#14969) `/api/create` refuses a model built from `adapters`; every version takes
 * a whole model from `files`. `OLLAMA_VERSION` stands in for a server that misreports.
 */

/** The first version that refuses to create a model from adapters. */
export const ADAPTERS_REFUSED_FROM = '0.34.1';

/** The words Ollama answers `adapters` with (HTTP 400), matched loosely: its casing may change. */
const ADAPTER_REFUSAL = /lora adapters are no longer supported/i;

/** Whether an error text is Ollama's refusal of adapters. */
export const isAdapterRefusal = (text: string): boolean => ADAPTER_REFUSAL.test(text);

/**
 * A version's numbers (`0.34.1`, `v0.34.1`, `0.34.1-rc2`, `0.35`), or undefined when it says
 * nothing: unreadable, or `0.0.0`, which a build from source reports. A pre-release counts as its
 * release: the change it carries is already in it.
 */
export function parseVersion(text: string | undefined): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$/.exec(text?.trim() ?? '');
  if (!match) return undefined;
  const numbers: [number, number, number] = [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  return numbers.every((n) => n === 0) ? undefined : numbers;
}

/** Negative when `a` is older than `b`, 0 when the same, positive when newer. */
export function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  for (let i = 0; i < 3; i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Whether a server of this version creates models from adapters: true below 0.34.1, false from
 * it, undefined when the version says nothing (then the merged model, which every version takes).
 */
export function takesAdapters(version: string | undefined): boolean | undefined {
  const parsed = parseVersion(version);
  if (!parsed) return undefined;
  return compareVersions(parsed, parseVersion(ADAPTERS_REFUSED_FROM) as [number, number, number]) < 0;
}
