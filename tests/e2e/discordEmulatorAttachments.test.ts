import { afterEach, describe, expect, it } from 'vitest';
import { DiscordEmulator, type RequestRecord } from '../support/discordEmulator.ts';
import { type EmulatorClientHarness, startEmulatorClient } from '../support/discordEmulatorHarness.ts';

let harness: EmulatorClientHarness | undefined;
let bare: DiscordEmulator | undefined;

afterEach(async () => {
  await harness?.close();
  await bare?.close();
  harness = undefined;
  bare = undefined;
});

const MiB = 1024 * 1024;

function downloadOf(emulator: DiscordEmulator, url: string): RequestRecord | undefined {
  return emulator.requests.find((r) => r.route?.startsWith('GET /attachments/') && url.endsWith(r.path));
}

describe('DiscordEmulator attachments that misbehave', () => {
  it('declares 100 bytes but streams 30 MiB, which a careful client stops reading early', async () => {
    harness = await startEmulatorClient();
    const { emulator, messages } = harness;
    const alice = emulator.createUser('alice');
    const said = emulator.userSays(alice, emulator.channelId, 'read this', {
      attachments: [
        {
          filename: 'notes.txt',
          content: 'x'.repeat(100),
          serving: { kind: 'oversize', bytes: 30 * MiB },
        },
      ],
    });
    const message = await emulator.waitFor(() => messages.find((m) => m.id === said.id));
    const attachment = message.attachments.first()!;
    expect(attachment.size).toBe(100);

    const response = await fetch(attachment.url);
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    let received = 0;
    while (received <= MiB) {
      const { value, done } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    await reader.cancel();
    expect(received).toBeGreaterThan(MiB);
    const download = await emulator.waitFor(() => {
      const record = downloadOf(emulator, attachment.url);
      return record?.closedEarly === true ? record : undefined;
    });
    // Backpressure: the server stopped writing soon after the client stopped reading.
    expect(download.bytesSent).toBeLessThan(30 * MiB);
    expect(download.status).toBe(200);
  });

  it('can stream the oversize body in full with an honest Content-Length', async () => {
    bare = await DiscordEmulator.start();
    const alice = bare.createUser('alice');
    const said = bare.userSays(alice, bare.channelId, 'big', {
      attachments: [
        {
          filename: 'a.bin',
          content: '',
          size: 10,
          serving: { kind: 'oversize', bytes: 3 * MiB, contentLength: 'actual' },
        },
      ],
    });
    const response = await fetch(said.attachments[0]!.url);
    expect(response.headers.get('content-length')).toBe(String(3 * MiB));
    expect((await response.arrayBuffer()).byteLength).toBe(3 * MiB);
    expect(said.attachments[0]!.size).toBe(10);
    const download = await bare.waitFor(() => {
      const record = downloadOf(bare!, said.attachments[0]!.url);
      return record?.closedEarly === false ? record : undefined;
    });
    expect(download.bytesSent).toBe(3 * MiB);
  });

  it('hangs before the headers until the client gives up', async () => {
    bare = await DiscordEmulator.start();
    const alice = bare.createUser('alice');
    const said = bare.userSays(alice, bare.channelId, 'slow', {
      attachments: [{ filename: 'a.txt', content: 'never', serving: { kind: 'hang-before-headers' } }],
    });
    const controller = new AbortController();
    const pending = fetch(said.attachments[0]!.url, { signal: controller.signal });
    const download = await bare.waitFor(() => downloadOf(bare!, said.attachments[0]!.url));
    expect(download.status).toBe(0);
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    await bare.waitFor(() => download.closedEarly === true);
    expect(download.bytesSent).toBe(0);
  });

  it('hangs after the headers and the first bytes', async () => {
    bare = await DiscordEmulator.start();
    const alice = bare.createUser('alice');
    const said = bare.userSays(alice, bare.channelId, 'stuck', {
      attachments: [
        { filename: 'a.txt', content: 'hello world', serving: { kind: 'hang-after-headers', bytes: 5 } },
      ],
    });
    const controller = new AbortController();
    const response = await fetch(said.attachments[0]!.url, { signal: controller.signal });
    expect([response.status, response.headers.get('content-length')]).toEqual([200, '11']);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('hello');
    const download = downloadOf(bare, said.attachments[0]!.url)!;
    expect(download.bytesSent).toBe(5);
    controller.abort();
    await bare.waitFor(() => download.closedEarly === true);
  });

  it('trickles the content a few bytes at a time', async () => {
    bare = await DiscordEmulator.start();
    const alice = bare.createUser('alice');
    const said = bare.userSays(alice, bare.channelId, 'drip', {
      attachments: [
        {
          filename: 'a.txt',
          content: 'abcdefghijkl',
          serving: { kind: 'trickle', chunkBytes: 4, intervalMs: 30 },
        },
      ],
    });
    const startedAt = performance.now();
    const response = await fetch(said.attachments[0]!.url);
    const reader = response.body!.getReader();
    const chunks: string[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value).toString());
    }
    expect(chunks.join('')).toBe('abcdefghijkl');
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(85);
  });

  it('closes cleanly with downloads still hanging', async () => {
    const emulator = await DiscordEmulator.start();
    const alice = emulator.createUser('alice');
    const said = emulator.userSays(alice, emulator.channelId, 'x', {
      attachments: [
        { filename: 'a.txt', content: 'a', serving: { kind: 'hang-before-headers' } },
        {
          filename: 'b.txt',
          content: 'bbbbbbbb',
          serving: { kind: 'trickle', chunkBytes: 1, intervalMs: 1000 },
        },
      ],
    });
    const downloads = Promise.allSettled(said.attachments.map((a) => fetch(a.url).then((r) => r.text())));
    await emulator.waitFor(() => emulator.requests.length === 2);
    await emulator.close();
    expect((await downloads).map((download) => download.status)).toEqual(['rejected', 'rejected']);
  });
});
