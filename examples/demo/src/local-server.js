// A node:http server on a free local port that hands each request to `handle` with its body read.
import http from 'node:http';

/**
 * @param {(req: { method: string, path: string, headers: Record<string, string>, body: string }) =>
 *   Promise<{ status: number, headers?: Record<string, string>, body?: string }> | { status: number, headers?: Record<string, string>, body?: string }} handle
 * @returns {Promise<{ origin: string, close: () => Promise<void> }>}
 */
export async function serveLocally(handle) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const answer = await handle({
        method: req.method ?? 'GET',
        path: new URL(req.url ?? '/', 'http://local').pathname,
        headers: /** @type {Record<string, string>} */ (req.headers),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
