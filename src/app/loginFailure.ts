/**
 * Why a login to Discord failed, in words, and the exit code: 2 for what only a change of
 * configuration fixes (as a missing setting), so that a container is not restarted in a loop for
 * it; 1 for a connection that may work on the next try.
 */
export function describeLoginFailure(error: unknown, apiUrl: string): { message: string; exitCode: number } {
  const code = (error as { code?: unknown }).code;
  const status = (error as { status?: unknown }).status;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'TokenInvalid' || status === 401 || /401|invalid token/i.test(message)) {
    return {
      message:
        'Discord refused DISCORD_TOKEN: reset the token in the developer portal (Bot → Reset Token) and update .env.',
      exitCode: 2,
    };
  }
  if (/4014|disallowed intent/i.test(message)) {
    return {
      message:
        'Discord refused the Message Content intent: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the developer portal.',
      exitCode: 2,
    };
  }
  return { message: `Could not connect to Discord at ${apiUrl}: ${message}`, exitCode: 1 };
}
