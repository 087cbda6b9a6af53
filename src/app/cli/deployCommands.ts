import { REST } from 'discord.js';
import { loadCommands } from '../../bot/interactions/commandRegistry.ts';
import { deployCommands } from '../../bot/interactions/deployCommands.ts';
import { loadConfig, loadDotEnv } from '../../services/config.ts';
import { MISSING_TOKEN } from '../messages.ts';
import { COMMANDS_DIR } from '../paths.ts';

/** `npm run deploy-commands`: registers the slash commands with Discord. */
async function main(): Promise<number> {
  loadDotEnv();
  const config = loadConfig();
  if (!config.discordToken) {
    process.stderr.write(`${MISSING_TOKEN}\n`);
    return 2;
  }
  const commands = await loadCommands(COMMANDS_DIR);
  const rest = new REST({ api: config.discordApiUrl }).setToken(config.discordToken);
  const result = await deployCommands(rest, commands, config.discordGuildId);
  const where =
    result.scope === 'global'
      ? 'globally (they can take up to an hour to appear; set DISCORD_GUILD_ID to register to one server at once)'
      : `to server ${result.scope.guildId}`;
  process.stdout.write(
    `Registered ${result.count} slash commands ${where}: ${commands
      .list()
      .map((c) => `/${c.data.name}`)
      .join(', ')}\n`,
  );
  return 0;
}

try {
  process.exit(await main());
} catch (error) {
  process.stderr.write(
    `Could not register the commands: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
