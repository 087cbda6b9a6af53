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
  return {
    logger: createLogger({ level: 'info', destination }),
    text: () => lines.join(''),
    /** The one record written, parsed (fails when there is none, or more than one). */
    record: () => {
      expect(lines).toHaveLength(1);
      return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    },
  };
}

describe('createLogger', () => {
  it('redacts tokens wherever they appear in a record, and keeps the rest of it', () => {
    const { logger, text, record } = capture();
    logger.info(
      {
        guildId: 'g1',
        token: 'secret-1',
        config: { discordToken: 'secret-2', level: 'info' },
        headers: { authorization: 'Bot secret-3' },
      },
      'x',
    );
    expect(record()).toMatchObject({
      msg: 'x',
      app: 'bat-os',
      guildId: 'g1',
      token: '[redacted]',
      config: { discordToken: '[redacted]', level: 'info' },
      headers: { authorization: '[redacted]' },
    });
    expect(text()).not.toMatch(/secret-/);
  });

  it('strips webhook tokens and request bodies from logged errors', () => {
    const { logger, text, record } = capture();
    const error = Object.assign(new Error('Unknown Webhook'), {
      url: 'https://discord.com/api/v10/webhooks/123/very-secret-token?wait=true',
      requestBody: { json: { content: 'private words' } },
    });
    logger.warn({ err: error }, 'refused');
    expect(record()).toMatchObject({
      msg: 'refused',
      err: {
        message: 'Unknown Webhook',
        url: 'https://discord.com/api/v10/webhooks/123/[redacted]?wait=true',
      },
    });
    expect(record().err).not.toHaveProperty('requestBody');
    expect(text()).not.toContain('very-secret-token');
    expect(text()).not.toContain('private words');
  });
});
