import type { Socket } from 'node:net';

/**
 * Waits `ms`, or less if the client goes away first: resolves true when the socket closed. The
 * close listener is removed when the time is up, so a kept-alive socket that carries many
 * delayed answers collects none.
 */
export function waitUnlessClosed(socket: Socket, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const closed = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      socket.off('close', closed);
      resolve(false);
    }, ms);
    socket.once('close', closed);
  });
}
