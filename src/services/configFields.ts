import ms from 'ms';
import { z } from 'zod';
import { assertCron } from './scheduler.ts';

/**
 * The kinds of value a setting is read as (a fraction, a flag, a duration, a cron expression, a
 * Discord id, Ollama's address), each with the message a person gets for a wrong one. The
 * settings themselves, and the one read of the environment, are in `config.ts`.
 */

/** Ollama's own CLI accepts `host`, `host:port` or a URL; so do we. */
export function normalizeOllamaHost(value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  const url = new URL(withScheme);
  // Ollama's default port, unless a port (or https, with its own default) was given.
  if (url.protocol === 'http:' && !/^[a-z]+:\/\/[^/]*:\d+/i.test(withScheme)) url.port = '11434';
  return url.toString().replace(/\/+$/, '');
}

export const fraction = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

export const flag = (fallback: boolean) =>
  z
    .string()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], 'expected true or false'))
    .transform((value) => ['true', '1', 'yes', 'on'].includes(value))
    .default(fallback);

/** A duration such as `24h`, `90m`, `2d` or `45s` (the `ms` package's forms), in milliseconds. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      // A bare number would be read as milliseconds; a unit is required, as the README says.
      const parsed = /[a-z]\s*$/i.test(value.trim()) ? ms(value.trim() as ms.StringValue) : Number.NaN;
      if (!Number.isFinite(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 24h, 90m, 2d or 45s' });
        return z.NEVER;
      }
      return parsed;
    });

/** A cron expression, checked now (naming the setting and the field), e.g. `0 3 * * *`. */
export const cronSetting = (setting: string) =>
  z.string().superRefine((value, ctx) => {
    try {
      assertCron(value, setting);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(`${setting}: `, '') });
    }
  });

export const snowflake = (what: string) =>
  z
    .string()
    .regex(/^\d{15,21}$/, `expected a ${what} id (a number)`)
    .optional();
