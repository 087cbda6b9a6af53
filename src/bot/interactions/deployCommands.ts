import { type REST, Routes } from 'discord.js';
import type { CommandRegistry } from './commandRegistry.ts';

export interface DeployResult {
  count: number;
  scope: 'global' | { guildId: string };
}

/**
 * Registers every command in one bulk overwrite: to one server (visible at once) when
 * `guildId` is given, else globally.
 */
export async function deployCommands(
  rest: REST,
  commands: CommandRegistry,
  guildId?: string,
): Promise<DeployResult> {
  const application = (await rest.get(Routes.currentApplication())) as { id: string };
  const body = commands.list().map((command) => command.data);
  const route = guildId
    ? Routes.applicationGuildCommands(application.id, guildId)
    : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, { body })) as unknown[];
  return { count: registered.length, scope: guildId ? { guildId } : 'global' };
}
