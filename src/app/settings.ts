import { type Config, loadConfig, loadDotEnv } from '../services/config.ts';

/**
 * The settings an entry runs on: `.env` read into the environment, then the environment checked.
 * A wrong or missing setting is said on standard error, every problem at once, and `undefined`
 * returned: the entry then exits with 2, a configuration error.
 */
export function settingsOrSay(): Config | undefined {
  loadDotEnv();
  try {
    return loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return undefined;
  }
}
