import net from 'node:net';

/** Resolves true when nothing listens on `port` (127.0.0.1) and we may bind it. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A port that was free a moment ago. Racy by nature: callers that start a server on it
 * retry with a fresh port when the server cannot bind.
 * `offsetFree` also requires `port + offset` to be free (Redis Cluster's bus port is +10000).
 */
export async function getFreePort(options: { offsetFree?: number } = {}): Promise<number> {
  if (options.offsetFree !== undefined) return getFreePortPair(options.offsetFree);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1' }, () => {
        const address = server.address();
        const found = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(found));
      });
    });
    if (port > 0) return port;
  }
  throw new Error('[testkit] could not find a free port');
}

async function getFreePortPair(offset: number): Promise<number> {
  // Below the usual ephemeral range so both ports stay under 65536.
  const low = 12000;
  const high = 65535 - offset;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if ((await isPortFree(port)) && (await isPortFree(port + offset))) return port;
  }
  throw new Error(`[testkit] could not find a free port pair (offset ${offset})`);
}
