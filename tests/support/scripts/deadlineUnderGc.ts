/**
 * Run with `node --expose-gc --import tsx`: a request to a server that never answers, with a
 * 200 ms deadline, while the garbage collector runs every 10 ms. Prints how the request ended:
 * only the deadline can end it (else the caller's own timeout kills this process).
 */
import { createServer } from 'node:http';
import { deadlineSignal } from '../../../src/services/llm/deadline.ts';

const server = createServer(() => undefined);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const gc = (globalThis as { gc?: () => void }).gc;
const collecting = setInterval(() => gc?.(), 10);
const outcome = await fetch(`http://127.0.0.1:${port}/`, {
  signal: deadlineSignal(200, new AbortController().signal).signal,
})
  .then((response) => response.text())
  .then(
    () => 'resolved',
    (error: Error) => error.name,
  );
clearInterval(collecting);
server.closeAllConnections();
server.close();
process.stdout.write(JSON.stringify({ outcome, gc: Boolean(gc) }));
