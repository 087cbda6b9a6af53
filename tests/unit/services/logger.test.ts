import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogFormat, pickLogFormat } from '../../../src/services/logger.ts';
import { REPO_ROOT } from '../../support/fixtures.ts';

function capture(format?: LogFormat) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', format, destination }),
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

describe('the log format', () => {
  it('is pretty on a terminal and JSON anywhere else, unless LOG_FORMAT forces one', () => {
    expect(pickLogFormat(undefined, true)).toBe('pretty');
    expect(pickLogFormat(undefined, false)).toBe('json');
    expect(pickLogFormat('json', true)).toBe('json');
    expect(pickLogFormat('pretty', false)).toBe('pretty');
  });

  it('writes JSON to anything that is not a terminal, by default', () => {
    const { logger, record } = capture();
    logger.child({ module: 'bot' }).info({ guildId: 'g1' }, 'connected to Discord');
    expect(record()).toMatchObject({ msg: 'connected to Discord', module: 'bot', guildId: 'g1', level: 30 });
  });

  it('writes lines for people when pretty: time, level, module and message, the rest below, secrets still out', () => {
    const { logger, text } = capture('pretty');
    logger.child({ module: 'bot' }).warn({ guildId: 'g1', token: 'secret-1' }, 'connected to Discord');
    const lines = text().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: bot: connected to Discord$/);
    expect(lines.slice(1).map((line) => line.trim())).toEqual(['guildId: "g1"', 'token: "[redacted]"']);
    // Not a terminal: no colour codes in a file or a pipe.
    expect(text()).not.toContain('\u001b[');
    expect(() => JSON.parse(lines[0] ?? '')).toThrow();
  });

  it("starts a sharded bot's pretty lines with their shard, since its processes share one terminal", () => {
    const { logger, text } = capture('pretty');
    logger.child({ shard: '1' }).child({ module: 'bot' }).info('connected to Discord');
    expect(text().trimEnd()).toMatch(
      /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: \[shard 1\] bot: connected to Discord$/,
    );
  });

  it('loads pino-pretty only for a pretty log: a JSON log never pays for it', () => {
    const loaded = (format: LogFormat) =>
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '--eval',
          `import { createRequire } from 'node:module';
           import { createLogger } from './src/services/logger.ts';
           createLogger({ level: 'silent', format: '${format}' });
           const cache = Object.keys(createRequire(import.meta.url).cache);
           process.stdout.write(String(cache.some((path) => path.includes('/pino-pretty/'))));`,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
    expect(loaded('json')).toBe('false');
    expect(loaded('pretty')).toBe('true');
  });
});
