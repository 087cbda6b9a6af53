import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Attachment } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextAttachments } from '../../../../src/bot/dialogue/attachments.ts';

/** What the local server does for each path; `closed` resolves when the client hangs up. */
const routes = new Map<string, (res: ServerResponse) => void>();
let server: Server;
let base = '';
const hangUps = new Map<string, Promise<number>>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    let written = 0;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: never[]) => {
      written += Buffer.byteLength(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    hangUps.set(path, new Promise((resolve) => res.on('close', () => resolve(written))));
    const route = routes.get(path);
    if (route) route(res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const attachment = (name: string, size: number, path = `/${name}`) =>
  ({ name, size, url: `${base}${path}`, contentType: 'text/plain' }) as unknown as Attachment;

/** Writes `chunk` for as long as the client reads, never ending the body. */
function endless(res: ServerResponse, chunk: Buffer) {
  res.writeHead(200, { 'content-type': 'text/plain' });
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {
      // The client keeps up: write again.
    }
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

describe('readTextAttachments', () => {
  it('reads text attachments, each under its name', async () => {
    routes.set('/a.txt', (res) => res.end('alpha'));
    routes.set('/b.md', (res) => res.end('# beta\n'));
    const read = await readTextAttachments([attachment('a.txt', 5), attachment('b.md', 7)], 1000);
    expect(read).toEqual({ text: '--- a.txt ---\nalpha\n\n--- b.md ---\n# beta', skipped: [] });
  });

  it('stops a download that hangs at its deadline and says so', async () => {
    routes.set('/hang.txt', () => {
      // Never answers.
    });
    routes.set('/after.txt', (res) => res.end('still read'));
    const read = await readTextAttachments(
      [attachment('hang.txt', 10), attachment('after.txt', 10)],
      1000,
      fetch,
      { timeoutMs: 100 },
    );
    expect(read.skipped).toEqual(['`hang.txt` took longer than 100 ms to download, so I left it out.']);
    expect(read.text).toBe('--- after.txt ---\nstill read');
  });

  it('stops a body that trickles past the deadline', async () => {
    routes.set('/slow.txt', (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 10);
      res.on('close', () => clearInterval(timer));
    });
    const read = await readTextAttachments([attachment('slow.txt', 1_000_000)], 2_000_000, fetch, {
      timeoutMs: 150,
    });
    expect(read.skipped).toEqual(['`slow.txt` took longer than 150 ms to download, so I left it out.']);
    expect(read.text).toBe('');
    // The transfer was cut, not left running.
    await expect(hangUps.get('/slow.txt')).resolves.toBeGreaterThan(0);
  });

  it('stops reading a server that sends more than the attachment declared, and cancels the body', async () => {
    // An endless body: only stopping early lets the read return at all.
    routes.set('/big.txt', (res) => endless(res, Buffer.alloc(64 * 1024, 'x')));
    const read = await readTextAttachments([attachment('big.txt', 100)], 1_000_000, fetch, {
      timeoutMs: 60_000,
    });
    expect(read.skipped).toEqual([
      '`big.txt` was larger than it said (over 100 B), so I stopped reading it and left it out.',
    ]);
    expect(read.text).toBe('');
    await expect(hangUps.get('/big.txt')).resolves.toBeGreaterThan(0);
  });

  it('refuses at once a response whose length is over what the attachment declared', async () => {
    routes.set('/liar.txt', (res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(30_000_000) });
      res.write('x'.repeat(1000));
    });
    const read = await readTextAttachments([attachment('liar.txt', 100)], 1_000_000, fetch, {
      timeoutMs: 60_000,
    });
    expect(read.skipped).toEqual([
      '`liar.txt` was larger than it said (over 100 B), so I stopped reading it and left it out.',
    ]);
  });

  it('counts the bytes read against the budget, and skips what would pass it', async () => {
    routes.set('/one.txt', (res) => res.end('x'.repeat(600)));
    routes.set('/two.txt', (res) => res.end('y'.repeat(600)));
    const read = await readTextAttachments([attachment('one.txt', 600), attachment('two.txt', 600)], 1000);
    expect(read.text).toBe(`--- one.txt ---\n${'x'.repeat(600)}`);
    expect(read.skipped).toHaveLength(1);
    expect(read.skipped[0]).toMatch(/^`two\.txt` is 1 KB; I read at most 1 KB/);
  });

  it('says which download failed and why', async () => {
    const read = await readTextAttachments([attachment('missing.txt', 10)], 1000);
    expect(read.skipped).toEqual(['I could not download `missing.txt` (HTTP 404).']);
  });

  it('leaves out what is not text without downloading it', async () => {
    const image = {
      name: 'cat.png',
      size: 10,
      url: `${base}/cat.png`,
      contentType: 'image/png',
    } as unknown as Attachment;
    const read = await readTextAttachments([image], 1000);
    expect(read.skipped).toEqual(['`cat.png` is not a text file, so I left it out.']);
  });

  it('gives up every download when its signal aborts', async () => {
    routes.set('/stuck.txt', () => {
      // Never answers.
    });
    const controller = new AbortController();
    const reading = readTextAttachments([attachment('stuck.txt', 10)], 1000, fetch, {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    setImmediate(() => controller.abort(new Error('shutting down')));
    await expect(reading).rejects.toThrow('shutting down');
  });
});
