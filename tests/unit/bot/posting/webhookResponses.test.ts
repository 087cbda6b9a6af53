import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { bucketFromHeaders, watchWebhookResponses } from '../../../../src/bot/posting/webhookResponses.ts';

/** What discord.js's REST manager emits for one response. */
function respond(rest: EventEmitter, path: string, status: number, headers: Record<string, string>) {
  rest.emit('response', { path, method: 'POST' }, { status, headers: new Headers(headers) });
}

const BUCKET = { 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '3', 'X-RateLimit-Reset-After': '1.250' };

describe("reading Discord's answers to webhook requests", () => {
  it('reads the route bucket from the headers, and nothing from a response without them', () => {
    expect(bucketFromHeaders(new Headers(BUCKET))).toEqual({ limit: 5, remaining: 3, resetAfterMs: 1250 });
    expect(bucketFromHeaders(new Headers({ 'X-RateLimit-Limit': '5' }))).toBeUndefined();
  });

  it("reports the last answer's bucket and every 429 waited out on the way, for that webhook only", async () => {
    const rest = new EventEmitter();
    const responses = watchWebhookResponses(rest);

    const report = await responses.during('111', async () => {
      respond(rest, '/webhooks/111/token', 429, {
        ...BUCKET,
        'Retry-After': '2',
        'X-RateLimit-Scope': 'shared',
      });
      respond(rest, '/webhooks/222/other', 200, { ...BUCKET, 'X-RateLimit-Remaining': '0' });
      respond(rest, '/channels/111/messages', 200, {});
      respond(rest, '/webhooks/111/token', 200, { ...BUCKET, 'X-RateLimit-Remaining': '2' });
    });

    expect(report).toEqual({
      delivered: true,
      bucket: { limit: 5, remaining: 2, resetAfterMs: 1250 },
      rateLimited: [{ scope: 'shared', retryAfterMs: 2000 }],
    });
    responses.stop();
    expect(rest.listenerCount('response')).toBe(0);
  });

  it('rejects as the request does', async () => {
    const responses = watchWebhookResponses(new EventEmitter());
    await expect(
      responses.during('111', async () => {
        throw new Error('Unknown Webhook');
      }),
    ).rejects.toThrow('Unknown Webhook');
  });
});
