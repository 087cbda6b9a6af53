import { join } from 'node:path';

/** Where the shipped slash commands live. */
export const COMMANDS_DIR = join(import.meta.dirname, '..', '..', 'commands');
