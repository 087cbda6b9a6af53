import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/services/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), text: () => lines.join('') };
}

describe('createLogger', () => {
  it('redacts tokens wherever they appear in a record', () => {
    const { logger, text } = capture();
    logger.info(
      { token: 'secret-1', config: { discordToken: 'secret-2' }, headers: { authorization: 'Bot secret-3' } },
      'x',
    );
    expect(text()).not.toMatch(/secret-/);
  });

  it('strips webhook tokens and request bodies from logged errors', () => {
    const { logger, text } = capture();
    const error = Object.assign(new Error('Unknown Webhook'), {
      url: 'https://discord.com/api/v10/webhooks/123/very-secret-token?wait=true',
      requestBody: { json: { content: 'private words' } },
    });
    logger.warn({ err: error }, 'refused');
    expect(text()).toContain('/webhooks/123/[redacted]');
    expect(text()).not.toContain('very-secret-token');
    expect(text()).not.toContain('private words');
  });
});
