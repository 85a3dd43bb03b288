import net from 'node:net';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient } from '../src/index.js';

// A server that accepts the subscriber's connection and handshake but never confirms its
// SUBSCRIBE (stalled, as a paused server does right after the connect): subscribe() must reject
// with TIMEOUT within the command deadline, and leave no subscriber connection behind.

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await stopAll();
});

/** A proxy to `port` that passes everything but drops any client chunk holding SUBSCRIBE. */
async function swallowingProxy(port: number) {
  const sockets = new Set<net.Socket>();
  let open = 0;
  const srv = net.createServer((socket) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    open++;
    socket.on('close', () => open--);
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    socket.on('data', (data: Buffer) => {
      if (!data.toString('latin1').toUpperCase().includes('SUBSCRIBE')) upstream.write(data);
    });
    upstream.pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    open: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

it('a SUBSCRIBE the server never confirms rejects with TIMEOUT within commandTimeoutMs and closes its connection', async () => {
  const proxy = await swallowingProxy(server.port);
  const client = createRedisClient({ port: proxy.port, commandTimeoutMs: 300 });
  try {
    // The connection's own commands get a deadline of their own: on a loaded machine the first
    // connect through the proxy can take most of 300 ms, and a PING waiting for it shares them.
    await client.ready();
    await client.command(['PING'], { timeoutMs: 10_000 });
    const before = proxy.open();
    const bound = new Promise<'still waiting'>((resolve) =>
      setTimeout(() => resolve('still waiting'), 20_000).unref(),
    );
    const outcome = await Promise.race([
      client
        .subscribe('news', () => undefined)
        .then(
          () => 'subscribed',
          (e: unknown) => e,
        ),
      bound,
    ]);
    expect(isInfrastructureError(outcome, 'TIMEOUT')).toBe(true);
    expect((outcome as Error).message).toContain('SUBSCRIBE');
    // The subscriber's connection is gone (the client's own is still there and still works).
    const deadline = Date.now() + 10_000;
    while (proxy.open() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(proxy.open()).toBe(before);
    expect(await client.command(['PING'], { timeoutMs: 10_000 })).toBe('PONG');
  } finally {
    await client.close();
    await proxy.close();
  }
}, 60_000);
