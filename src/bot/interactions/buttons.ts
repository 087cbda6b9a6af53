import type { ButtonInteraction } from 'discord.js';

/**
 * A family of buttons that share a custom-id prefix (`codex:approve:p3` belongs to `codex`), and
 * the handler for its presses. Families register with the interaction router as commands do;
 * a handler checks everything on the server, since the id is all the message carries.
 */
export interface ButtonFamily {
  /** The custom id up to its first `:`. */
  readonly prefix: string;
  handle(interaction: ButtonInteraction): Promise<void>;
}

export interface ButtonRegistry {
  /** The family a custom id belongs to. */
  find(customId: string): ButtonFamily | undefined;
}

/** Indexes button families by prefix; two families may not share one. */
export function createButtonRegistry(families: readonly ButtonFamily[]): ButtonRegistry {
  const byPrefix = new Map<string, ButtonFamily>();
  for (const family of families) {
    if (!/^[a-z][a-z0-9-]*$/.test(family.prefix))
      throw new Error(`button prefix "${family.prefix}" is not a lowercase word`);
    if (byPrefix.has(family.prefix)) throw new Error(`two button families use the prefix "${family.prefix}"`);
    byPrefix.set(family.prefix, family);
  }
  return { find: (customId) => byPrefix.get(customId.split(':', 1)[0] ?? '') };
}
