import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Command } from './command.ts';

const commandShape = z.object({
  data: z.looseObject({
    name: z.string().regex(/^[-_\p{Ll}\p{N}]{1,32}$/u, 'names are 1–32 lowercase letters, digits, - or _'),
    description: z.string().min(1).max(100),
  }),
  defer: z
    .union([
      z.enum(['public', 'ephemeral']),
      z.custom<Exclude<Command['defer'], string | undefined>>((value) => typeof value === 'function'),
    ])
    .optional(),
  aliasOf: z.array(z.string()).optional(),
  architectOnly: z
    .custom<Command['architectOnly']>(
      (value) => typeof value === 'boolean' || typeof value === 'function',
      'architectOnly must be a boolean or a function',
    )
    .optional(),
  execute: z.custom<Command['execute']>((value) => typeof value === 'function', 'execute must be a function'),
});

export interface CommandRegistry {
  get(name: string): Command | undefined;
  list(): readonly Command[];
}

/** Checks a set of commands (shape, Discord's naming rules, unique names) and indexes them. */
export function createCommandRegistry(
  commands: ReadonlyArray<{ source: string; module: unknown }>,
): CommandRegistry {
  const byName = new Map<string, Command>();
  const problems: string[] = [];
  for (const { source, module } of commands) {
    const result = commandShape.safeParse(module);
    if (!result.success) {
      problems.push(
        `${source}: ${result.error.issues.map((i) => `${i.path.join('.') || 'export'} ${i.message}`).join('; ')}`,
      );
      continue;
    }
    const command = module as Command;
    if (byName.has(command.data.name))
      problems.push(`${source}: a second command named /${command.data.name}`);
    byName.set(command.data.name, command);
  }
  if (problems.length > 0) throw new Error(`Invalid slash commands:\n  - ${problems.join('\n  - ')}`);
  const list = Object.freeze([...byName.values()]);
  return { get: (name) => byName.get(name), list: () => list };
}

/** Imports every command module in `dir` (one command per file, exported as default). */
export async function loadCommands(dir: string): Promise<CommandRegistry> {
  const files = (await readdir(dir))
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !/\.(d|test)\.ts$/.test(f))
    .sort();
  const modules = await Promise.all(
    files.map(async (file) => ({
      source: join(dir, file),
      module: ((await import(pathToFileURL(join(dir, file)).href)) as { default?: unknown }).default,
    })),
  );
  return createCommandRegistry(modules);
}
