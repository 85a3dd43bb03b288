import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHttpClient, HttpStatusError } from '../src/index.js';
import { rawServer, rejectionOf, TRANSPORTS } from './helpers.js';

// An error status whose body is past maxResponseBytes must still say its status: found by an
// independent check (a 404 with a large body came back PAYLOAD_TOO_LARGE, the status lost).
describe.each(TRANSPORTS)('an error status with a body past maxResponseBytes, over %s', (transport) => {
  let server: Awaited<ReturnType<typeof rawServer>>;
  let origin: string;
  let calls = 0;
  const big = Buffer.alloc(256 * 1024, 'x');

  beforeAll(async () => {
    server = await rawServer((req, res) => {
      calls++;
      const status = Number(req.url?.slice(1, 4));
      if (req.url?.endsWith('/declared')) {
        res.writeHead(status, { 'content-length': String(big.length) }).end(big);
      } else {
        // Chunked: the size shows only while it is read.
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.write(big);
        res.end(big);
      }
    });
    origin = server.origin;
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(['declared', 'chunked'])(
    'keeps the status (%s length): HttpStatusError, not PAYLOAD_TOO_LARGE',
    async (kind) => {
      const c = createHttpClient({ transport, maxResponseBytes: 1024, retry: false });
      try {
        const error = await rejectionOf(c.get(`${origin}/404/${kind}`));
        expect(error).toBeInstanceOf(HttpStatusError);
        expect(error).toMatchObject({ code: 'HTTP_STATUS', status: 404, retryable: false });
        const streamed = await rejectionOf(c.stream({ url: `${origin}/404/${kind}` }));
        expect(streamed).toMatchObject({ code: 'HTTP_STATUS', status: 404 });
        // A success past the limit is still refused.
        const ok = await rejectionOf(c.get(`${origin}/200/${kind}`));
        expect(ok).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      } finally {
        await c.close();
      }
    },
  );

  it('a retryable status past the limit is retried like any 503', async () => {
    const c = createHttpClient({ transport, maxResponseBytes: 1024, retry: { limit: 2, baseDelayMs: 1 } });
    try {
      calls = 0;
      const error = await rejectionOf(c.get(`${origin}/503/chunked`));
      expect(error).toMatchObject({ code: 'HTTP_STATUS', status: 503, retryable: true });
      expect(calls).toBe(3);
    } finally {
      await c.close();
    }
  });
});
