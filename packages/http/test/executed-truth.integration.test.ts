import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getFreePort } from '@voelgoed/testkit';
import { createHttpClient } from '../src/index.js';
import { rawServer, rejectionOf, TRANSPORTS } from './helpers.js';

// A request the server received and ran, then lost on the way back, must not say "retryable":
// a caller that retries on `retryable` would apply it twice. Found by an independent check: a
// POST the server had charged came back `ConnectionError` with `maybeExecuted: false`.
describe.each(TRANSPORTS)('what a failed request says it did, over %s', (transport) => {
  let server: Awaited<ReturnType<typeof rawServer>>;
  let origin: string;
  const ran: string[] = [];

  beforeAll(async () => {
    server = await rawServer((req, res) => {
      req.resume();
      req.on('end', () => {
        ran.push(`${req.method} ${req.url}`);
        if (req.url?.startsWith('/reset-before-head')) {
          req.socket.destroy();
        } else if (req.url?.startsWith('/reset-mid-body')) {
          res.writeHead(200, { 'content-length': '100' });
          res.write('{"id":');
          setTimeout(() => req.socket.destroy(), 20);
        } else if (req.url?.startsWith('/redirect-then-reset')) {
          res.writeHead(303, { location: '/reset-before-head' }).end();
        } else if (req.url?.startsWith('/slow')) {
          setTimeout(() => res.end('late'), 2_000);
        }
      });
    });
    origin = server.origin;
  });
  afterAll(async () => {
    await server.close();
  });

  const client = (options: Record<string, unknown> = {}) =>
    createHttpClient({ transport, retry: false, ...options });

  it.each([
    ['/reset-before-head', 'the connection is reset before the response head'],
    ['/reset-mid-body', 'the connection is reset after the head, in the body'],
    ['/redirect-then-reset', 'a redirect came back, then the next hop is reset'],
  ])('a POST the server ran, when %s (%s): maybeExecuted, not retryable', async (path) => {
    const c = client({ followRedirects: true });
    try {
      ran.length = 0;
      const error = await rejectionOf(c.post(`${origin}${path}`, { json: { amount: 1200 } }));
      expect(ran[0]).toBe(`POST ${path}`);
      expect(error.code).toBe('CONNECTION');
      expect(error.maybeExecuted).toBe(true);
      expect(error.retryable).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('the same failure of a PUT, or of a POST with an idempotency key, is retryable (safe to repeat)', async () => {
    const c = client();
    try {
      const put = await rejectionOf(c.put(`${origin}/reset-before-head`, { json: { amount: 1200 } }));
      expect(put).toMatchObject({ code: 'CONNECTION', maybeExecuted: true, retryable: true });
      const keyed = await rejectionOf(
        c.post(`${origin}/reset-before-head`, { json: { amount: 1200 }, idempotencyKey: 'order-42' }),
      );
      expect(keyed).toMatchObject({ code: 'CONNECTION', maybeExecuted: true, retryable: true });
    } finally {
      await c.close();
    }
  });

  it('a POST that timed out waiting for the head: maybeExecuted, not retryable; a GET: retryable', async () => {
    // 1 s, not 150 ms: the request must have been sent when it fires (a loaded machine can hold
    // the connect past 150 ms: then nothing was sent); /slow answers only after 2 s.
    const c = client({ timeoutMs: 1_000 });
    try {
      const post = await rejectionOf(c.post(`${origin}/slow`, { json: {} }));
      expect(post).toMatchObject({
        code: 'TIMEOUT',
        phase: 'headers',
        maybeExecuted: true,
        retryable: false,
      });
      const get = await rejectionOf(c.get(`${origin}/slow`));
      expect(get).toMatchObject({ code: 'TIMEOUT', phase: 'headers', maybeExecuted: true, retryable: true });
    } finally {
      await c.close();
    }
  });

  it('a POST ended by its deadline while the server runs it: maybeExecuted, not retryable; a GET: retryable', async () => {
    // The overall deadline's timeout, like the attempt's, must say whether a retry is safe.
    // 1 s, not 150 ms, as above: the request was sent by then; /slow answers after 2 s.
    const c = client({ deadlineMs: 1_000 });
    try {
      const post = await rejectionOf(c.post(`${origin}/slow`, { json: {} }));
      expect(post).toMatchObject({
        code: 'TIMEOUT',
        phase: 'deadline',
        maybeExecuted: true,
        retryable: false,
      });
      const keyed = await rejectionOf(c.post(`${origin}/slow`, { json: {}, idempotencyKey: 'order-42' }));
      expect(keyed).toMatchObject({
        code: 'TIMEOUT',
        phase: 'deadline',
        maybeExecuted: true,
        retryable: true,
      });
      const get = await rejectionOf(c.get(`${origin}/slow`));
      expect(get).toMatchObject({ code: 'TIMEOUT', phase: 'deadline', maybeExecuted: true, retryable: true });
    } finally {
      await c.close();
    }
  });

  it('a POST to a port where nothing listens was not sent: not maybeExecuted, retryable', async () => {
    const port = await getFreePort();
    const c = client();
    try {
      const error = await rejectionOf(c.post(`http://127.0.0.1:${port}/charge`, { json: {} }));
      expect(error).toMatchObject({ code: 'CONNECTION', maybeExecuted: false, retryable: true });
    } finally {
      await c.close();
    }
  });
});
