import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHttpClient } from '../src/index.js';
import { rawServer, rejectionOf, TRANSPORTS } from './helpers.js';

// A timeout while the caller's own body stream has nothing to give is the caller's problem, like
// a body stream that fails: it must not open the origin's breaker for every other call. Found
// by an independent check (three stalled uploads opened the breaker; a GET then got CIRCUIT_OPEN).
// A server that stops reading the body is the origin's problem, and still counts.
describe.each(TRANSPORTS)('a timed-out upload and the circuit breaker, over %s', (transport) => {
  let server: Awaited<ReturnType<typeof rawServer>>;
  let origin: string;

  beforeAll(async () => {
    server = await rawServer((req, res) => {
      // /stuck never reads the body nor answers: the origin is what is slow.
      if (req.url === '/stuck') return;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    origin = server.origin;
  });
  afterAll(async () => {
    await server.close();
  });

  const client = () =>
    createHttpClient({
      transport,
      // 3 s, not 300 ms: by the timeout, the request must be connected and its first chunk
      // taken from the caller's stream, else a caller's stall reads as the server's. A loaded
      // machine can take longer than 300 ms for that.
      timeoutMs: 3_000,
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, openMs: 60_000 },
    });

  it("the caller's stalled body stream times out without opening the breaker", async () => {
    const c = client();
    try {
      for (let i = 0; i < 3; i++) {
        // A first chunk, then nothing: a slow disk or upstream on the caller's side.
        const body = new Readable({ read() {} });
        body.push('first chunk,');
        const error = await rejectionOf(c.put(`${origin}/upload`, { body }));
        expect(error).toMatchObject({ code: 'TIMEOUT', phase: 'headers' });
        expect(error.message).toContain('the request body stream had stalled');
      }
      expect(c.circuitState(origin)).toBe('closed');
      expect((await c.get(`${origin}/health`, { timeoutMs: 30_000 })).status).toBe(200);
    } finally {
      await c.close();
    }
  });

  it('a server that stops reading the body times out and counts against the breaker', async () => {
    const c = client();
    const chunk = Buffer.alloc(1024 * 1024, 7);
    try {
      for (let i = 0; i < 2; i++) {
        // Always ready with more: only the server's not reading holds it up.
        const body = new Readable({
          read() {
            this.push(chunk);
          },
        });
        const error = await rejectionOf(c.put(`${origin}/stuck`, { body }));
        expect(error).toMatchObject({ code: 'TIMEOUT', phase: 'headers' });
        expect(error.message).not.toContain('stalled');
      }
      expect(c.circuitState(origin)).toBe('open');
    } finally {
      await c.close();
    }
  });
});
