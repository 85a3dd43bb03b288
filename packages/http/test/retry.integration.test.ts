import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Channels, isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { parseRetryAfter } from '../src/backoff.js';
import { createHttpClient, HttpTimeoutError, type ResilientHttpClient } from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

const FAST = { baseDelayMs: 1, maxDelayMs: 5 };

describe.each(TRANSPORTS)('retries over %s', (transport) => {
  let server: HttpServer;
  let client: ResilientHttpClient;

  beforeAll(async () => {
    server = await startHttpServer();
    client = createHttpClient({
      transport,
      baseUrl: server.origin,
      retry: { limit: 3, ...FAST },
      retryBudget: false,
      circuitBreaker: false,
    });
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  /** Sets a fresh handler and forgets earlier requests. */
  function answer(handler: Parameters<HttpServer['setHandler']>[0]): void {
    server.requests.length = 0;
    server.setHandler(handler);
  }

  it.each([408, 425, 429, 500, 502, 503, 504])('retries a GET answered %i', async (status) => {
    answer(faults.statusSequence([status, 200]));
    const response = await client.get('/r');
    expect(response.status).toBe(200);
    expect(response.attempts).toBe(2);
    expect(server.requests).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 409, 422, 501])('does not retry a GET answered %i', async (status) => {
    answer(faults.statusSequence([status, 200]));
    const error = await rejectionOf(client.get('/r'));
    expect(error.status).toBe(status);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after the retry limit and returns the last answer', async () => {
    answer(faults.statusSequence([503]));
    const error = await rejectionOf(client.get('/r'));
    expect(error.status).toBe(503);
    expect(server.requests).toHaveLength(4);
    answer(faults.statusSequence([503]));
    const response = await client.get('/r', { throwHttpErrors: false, retry: 1 });
    expect([response.status, response.attempts]).toEqual([503, 2]);
  });

  it.each(['HEAD', 'OPTIONS', 'PUT', 'DELETE'] as const)('retries idempotent %s', async (method) => {
    answer(faults.statusSequence([503, 200]));
    const response = await client.request({ method, url: '/r' });
    expect(response.attempts).toBe(2);
    expect(server.requests.map((r) => r.method)).toEqual([method, method]);
  });

  it.each(['POST', 'PATCH'] as const)('never retries a %s without an idempotency key', async (method) => {
    answer(faults.statusSequence([503, 200]));
    const error = await rejectionOf(
      client.request({ method, url: '/r', json: { a: 1 }, retry: { limit: 5, methods: ['POST', 'PATCH'] } }),
    );
    expect(error.status).toBe(503);
    expect(server.requests).toHaveLength(1);
    answer(faults.sequence([faults.reset(), faults.json(200, {})]));
    const dropped = await rejectionOf(client.request({ method, url: '/r', json: { a: 1 } }));
    expect(isInfrastructureError(dropped, 'CONNECTION')).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a POST with a generated idempotency key, sending the same key every time', async () => {
    answer(faults.statusSequence([503, 502, 200]));
    const response = await client.post('/pay', { json: { amount: 5 }, idempotencyKey: true });
    expect(response.attempts).toBe(3);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(server.requests.map((r) => r.body.toString())).toEqual(Array(3).fill('{"amount":5}'));
  });

  it('retries a PATCH with a caller-given key (option or header)', async () => {
    answer(faults.statusSequence([500, 200]));
    await client.patch('/pay', { json: {}, idempotencyKey: 'order-17' });
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(['order-17', 'order-17']);
    answer(faults.statusSequence([500, 200]));
    await client.post('/pay', { json: {}, headers: { 'Idempotency-Key': 'order-18' } });
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(['order-18', 'order-18']);
  });

  it('retries a GET after a connection reset', async () => {
    answer(faults.sequence([faults.reset(), faults.reset(), faults.json(200, { ok: true })]));
    const response = await client.get('/r');
    expect(response.json()).toEqual({ ok: true });
    expect(response.attempts).toBe(3);
  });

  it('does not retry a streamed request body', async () => {
    answer(faults.statusSequence([503, 200]));
    const error = await rejectionOf(client.put('/upload', { body: Readable.from([Buffer.from('x')]) }));
    expect(error.status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('honours Retry-After in seconds', async () => {
    answer(faults.sequence([faults.retryAfter(1, 429), faults.json(200, {})]));
    const recorder = recordEvents(Channels.httpRetry);
    try {
      await client.get('/r', { retry: { limit: 1, maxDelayMs: 30_000 } });
    } finally {
      recorder.stop();
    }
    expect(recorder.events.filter((e) => e.origin === server.origin)).toEqual([
      { method: 'GET', origin: server.origin, attempt: 2, delayMs: 1000, reason: '429' },
    ]);
  });

  it('honours Retry-After as an HTTP date, capped at maxDelayMs', async () => {
    answer(faults.sequence([faults.retryAfter(new Date(Date.now() + 60_000), 503), faults.json(200, {})]));
    const recorder = recordEvents(Channels.httpRetry);
    try {
      await client.get('/r', { retry: { limit: 1, maxDelayMs: 120 } });
    } finally {
      recorder.stop();
    }
    const mine = recorder.events.filter((e) => e.origin === server.origin);
    expect(mine.map((e) => [e.delayMs, e.reason])).toEqual([[120, '503']]);
  });

  it.each(['-1', '2.5', '1, 2', '10 seconds', 'garbage', 'Mon, 32 Jan 2001 00:00:00 GMT'])(
    'ignores Retry-After %j (neither delay-seconds nor an HTTP-date) and backs off as usual',
    async (value) => {
      answer(
        faults.sequence([
          (_req, res) => void res.writeHead(503, { 'retry-after': value }).end(),
          faults.json(200, {}),
        ]),
      );
      // Full jitter at a fixed draw: floor(0.5 × 4) = 2 ms. Date.parse read "-1", "2.5" and
      // "1, 2" as dates in 2001, a wait of 0.
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
      const recorder = recordEvents(Channels.httpRetry);
      try {
        await client.get('/r', { retry: { limit: 1, baseDelayMs: 4, maxDelayMs: 4 } });
      } finally {
        recorder.stop();
        random.mockRestore();
      }
      const mine = recorder.events.filter((e) => e.origin === server.origin);
      expect(mine.map((e) => [e.delayMs, e.reason])).toEqual([[2, '503']]);
    },
  );

  it('fails at the overall deadline, however many retries remain', async () => {
    answer(faults.sequence([faults.statusSequence([503]), faults.hang()]));
    // A deadline of seconds: the first attempt must be answered (and the second sent) before it,
    // which a loaded machine's event-loop stall (up to ~0.5 s in full runs) must not prevent.
    const error = await rejectionOf(client.get('/r', { deadlineMs: 2000, retry: { limit: 100, ...FAST } }));
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(error.phase).toBe('deadline');
    expect(error.message).toBe(`[voelgoed:http] GET ${server.origin}/r passed its deadline of 2000 ms`);
    expect(server.requests).toHaveLength(2);
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    answer(faults.statusSequence([503]));
    const error = await rejectionOf(
      // Long enough for more than one attempt on a loaded machine (stalls of up to ~0.5 s).
      client.get('/r', { deadlineMs: 2000, retry: { limit: 1000, baseDelayMs: 20, maxDelayMs: 200 } }),
    );
    expect(['HTTP_STATUS', 'TIMEOUT']).toContain(error.code);
    expect(server.requests.length).toBeGreaterThan(1);
    expect(server.requests.length).toBeLessThan(1000);
  });

  it('spends a client-wide retry budget, then stops retrying', async () => {
    const budgeted = createHttpClient({
      transport,
      baseUrl: server.origin,
      retry: { limit: 5, ...FAST },
      retryBudget: { ratio: 0, minRetries: 2, windowMs: 60_000 },
      circuitBreaker: false,
    });
    try {
      answer(faults.statusSequence([503]));
      // Own path: a straggler attempt of an earlier test may still reach the shared server.
      const first = await budgeted.get('/budget', { throwHttpErrors: false });
      expect(first.attempts).toBe(3);
      const second = await budgeted.get('/budget', { throwHttpErrors: false });
      expect(second.attempts).toBe(1);
      expect(server.requests.filter((r) => r.url === '/budget')).toHaveLength(4);
    } finally {
      await budgeted.close();
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  const inAMinute = now + 60_000;

  it('reads delta-seconds: digits only', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });

  it.each([
    ['IMF-fixdate', 'Thu, 01 Jan 2026 00:01:00 GMT'],
    ['obsolete RFC 850', 'Thursday, 01-Jan-26 00:01:00 GMT'],
    ['obsolete asctime', 'Thu Jan  1 00:01:00 2026'],
    ['asctime with a two-digit day', 'Thu Jan 01 00:01:00 2026'],
  ])('reads an HTTP-date in the %s form', (_form, value) => {
    expect(parseRetryAfter(value, now)).toBe(inAMinute - now);
  });

  it('gives 0 for a date in the past, and reads an RFC 850 year more than 50 years ahead as past', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0);
  });

  it.each([
    '-1',
    '+5',
    '2.5',
    '1e3',
    '0x10',
    '1, 2',
    '10 seconds',
    'garbage',
    'Thu, 01 Jan 2026 00:01:00 UTC',
    'Thu, 01 Jan 2026 00:01:00',
    'thu, 01 jan 2026 00:01:00 gmt',
    'Thu, 1 Jan 2026 00:01:00 GMT',
    'Thu, 31 Feb 2026 00:01:00 GMT',
    'Thu, 01 Jan 2026 24:00:00 GMT',
    'Thu, 01 Jan 2026 00:01:00 GMT junk',
    '2026-01-01T00:01:00Z',
    'Thu Jan  0 00:01:00 2026',
  ])('ignores %j (undefined: normal backoff applies)', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
