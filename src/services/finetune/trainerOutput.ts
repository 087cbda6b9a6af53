import { lstatSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { TrainerExport } from './registrar.ts';

/**
 * What the bot takes from a trainer's `done` event, checked before anything reads it: the
 * folders it names are real folders inside `--output`, and the files read from them are files
 * the trainer wrote there. Every step from `--output` down is looked at with `lstat`, which does
 * not follow links: a symbolic link, wherever it points, is refused, so a trainer cannot make the
 * bot read (and upload to a model server) a file from elsewhere on the host, nor one that a link
 * swapped in after the check would lead to.
 */

/** The files an adapter must have (PEFT's layout), as Ollama's `ADAPTER` reads them. */
export const ADAPTER_FILES = ['adapter_model.safetensors', 'adapter_config.json'] as const;

/** The `done` event's fields that name folders. */
export interface DoneFolders {
  adapter_dir: string;
  merged_dir?: string;
}

/**
 * The folders from `root` (itself first) down to `path`, by their names alone; undefined when
 * `path` is neither `root` nor inside it.
 */
function stepsBelow(path: string, root: string): string[] | undefined {
  const top = resolve(root);
  const inside = relative(top, resolve(path));
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return undefined;
  const steps = [top];
  for (const name of inside ? inside.split(sep) : []) steps.push(join(steps.at(-1) as string, name));
  return steps;
}

const lstatOrNone = (path: string) => lstat(path).catch(() => undefined);

/**
 * Whether `path` is `root` or lies inside it, with no symbolic link from `root` down (a link
 * counts as outside, wherever it leads). What does not exist yet is judged by its path.
 */
export function isInside(path: string, root: string): boolean {
  const steps = stepsBelow(path, root);
  if (!steps) return false;
  for (const step of steps) {
    let stat: Stats | undefined;
    try {
      stat = lstatSync(step);
    } catch {
      return true;
    }
    if (stat.isSymbolicLink()) return false;
  }
  return true;
}

/** A named folder: wrong (what is wrong with it), missing, or there. */
type Folder = { problem: string } | { missing: true } | { ok: true };

async function folderAt(what: string, dir: string, output: string): Promise<Folder> {
  const steps = stepsBelow(dir, output);
  if (!steps)
    return { problem: `the trainer's ${what} (${dir}) lies outside its --output folder (${output})` };
  for (const step of steps) {
    const stat = await lstatOrNone(step);
    if (!stat) return { missing: true };
    if (stat.isSymbolicLink())
      return {
        problem: `the trainer's ${what} (${dir}) goes through a symbolic link (${step}): only real folders inside its --output folder count`,
      };
    if (!stat.isDirectory()) return { problem: `the trainer's ${what} (${dir}) is not a folder (${step})` };
  }
  return { ok: true };
}

/** The first symbolic link among a folder's entries, if any: the server reading it would follow it. */
async function linkIn(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.find((entry) => entry.isSymbolicLink())?.name;
}

/** What is wrong with the adapter's files, if anything. */
async function adapterProblem(dir: string, present: boolean): Promise<string | undefined> {
  const missing: string[] = [];
  for (const file of ADAPTER_FILES) {
    const stat = present ? await lstatOrNone(join(dir, file)) : undefined;
    if (!stat) missing.push(file);
    else if (stat.isSymbolicLink())
      return `the adapter's ${file} is a symbolic link: only files the trainer wrote inside its --output folder count`;
    else if (!stat.isFile()) return `the adapter's ${file} is not a regular file`;
  }
  if (missing.length) return `the adapter lacks ${missing.join(' and ')}`;
  const link = await linkIn(dir);
  if (link)
    return `the adapter folder (${dir}) holds a symbolic link (${link}): only files the trainer wrote inside its --output folder count`;
  return undefined;
}

/** What is wrong with the merged weights' folder, if anything. */
async function mergedProblem(dir: string, present: boolean): Promise<string | undefined> {
  const entries = present ? await readdir(dir, { withFileTypes: true }) : [];
  const link = entries.find((entry) => entry.isSymbolicLink());
  if (link)
    return `the merged weights (${dir}) hold a symbolic link (${link.name}): only files the trainer wrote inside its --output folder count`;
  const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
  const lacks = [
    ...(files.includes('config.json') ? [] : ['config.json']),
    ...(files.some((file) => file.endsWith('.safetensors')) ? [] : ['*.safetensors weights']),
  ];
  return lacks.length ? `the merged weights (${dir}) lack ${lacks.join(' and ')}` : undefined;
}

/** What is wrong with the folders a `done` event names, and the files in them, if anything. */
export async function checkOutput(
  done: DoneFolders,
  output: string,
  wanted: TrainerExport,
): Promise<string | undefined> {
  const adapter = await folderAt('adapter_dir', done.adapter_dir, output);
  if ('problem' in adapter) return adapter.problem;
  const merged =
    done.merged_dir === undefined ? undefined : await folderAt('merged_dir', done.merged_dir, output);
  if (merged && 'problem' in merged) return merged.problem;
  if (wanted !== 'merged') {
    const wrong = await adapterProblem(done.adapter_dir, 'ok' in adapter);
    if (wrong) return wrong;
  }
  if (done.merged_dir !== undefined)
    return mergedProblem(done.merged_dir, merged !== undefined && 'ok' in merged);
  if (wanted === 'merged') return 'the trainer wrote no merged weights (no merged_dir in its done event)';
  return undefined;
}
