/**
 * SIGINT or SIGTERM, whichever comes first: what stops an entry that runs until it is told to
 * (the bot, the shard manager, the REST proxy). The listeners stay, so a second signal does not
 * kill the process in the middle of its shutdown.
 */
export function signalled(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal));
  });
}
