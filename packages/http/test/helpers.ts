import http from 'node:http';
import type net from 'node:net';
import { type ChannelName, type ChannelPayloads, subscribe } from '@voelgoed/contracts';

/** Both transports run every integration test. */
export const TRANSPORTS = ['got', 'undici'] as const;

/** Records every event published on `name` until the returned `stop` is called. */
export function recordEvents<N extends ChannelName>(
  name: N,
): { events: ChannelPayloads[N][]; stop: () => void } {
  const events: ChannelPayloads[N][] = [];
  const stop = subscribe(name, (payload) => events.push(payload));
  return { events, stop };
}

/** Awaits `promise` and returns what it rejected with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** A plain `node:http` server on a free local port; `close()` destroys its open sockets first. */
export async function rawServer(
  handler: http.RequestListener,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
