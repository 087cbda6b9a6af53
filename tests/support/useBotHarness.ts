import { afterEach, expect } from 'vitest';
import { type BotHarness, type BotHarnessOptions, startBotHarness } from './botHarness.ts';

export interface UseBotHarnessOptions extends BotHarnessOptions {
  /**
   * Fails a test whose bot called a Discord route the emulator does not know (a route, not a
   * resource: a deleted message's 404 is Discord's answer, not an unknown route). Default true.
   */
  knownRoutesOnly?: boolean;
}

/** What a test file holds to start its bot: one per test, closed after it. */
export interface BotHarnessHandle {
  /** Starts this test's bot with the file's options, `options` laid over them (see `mergeBotOptions`). */
  start(options?: BotHarnessOptions): Promise<BotHarness>;
}

/**
 * The preamble of a suite that drives the real bot through the emulators. Each test starts its
 * own bot (`await bot.start(...)`), so that tests share no state and each may add settings; the
 * `afterEach` registered here closes it, emulators and folder included, and then checks that it
 * called only routes the emulator knows.
 */
export function useBotHarness(fileOptions: UseBotHarnessOptions = {}): BotHarnessHandle {
  const { knownRoutesOnly = true, ...defaults } = fileOptions;
  let current: BotHarness | undefined;
  afterEach(async () => {
    const h = current;
    current = undefined;
    if (!h) return;
    const unknown = h.discord.unknownRoutes();
    await h.close();
    if (knownRoutesOnly) expect(unknown, 'requests to routes the emulator does not know').toEqual([]);
  });
  return {
    async start(options = {}) {
      if (current) throw new Error('a test starts one bot: this one has started it already');
      current = await startBotHarness(mergeBotOptions(defaults, options));
      return current;
    },
  };
}

/**
 * A test's options over its file's: settings, channels and extra commands add up (the test's win
 * on the same key); the emulator's and the composition root's options are merged one level deep,
 * so a test that sets `compose.posting` keeps the file's `compose.clock`.
 */
export function mergeBotOptions(file: BotHarnessOptions, test: BotHarnessOptions): BotHarnessOptions {
  return {
    env: { ...file.env, ...test.env },
    channels: { ...file.channels, ...test.channels },
    extraCommands: [...(file.extraCommands ?? []), ...(test.extraCommands ?? [])],
    discord: { ...file.discord, ...test.discord },
    compose: { ...file.compose, ...test.compose },
  };
}
