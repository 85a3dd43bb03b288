import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient } from '../src/index.js';
import { rejectionOf, TRANSPORTS } from './helpers.js';

// What the contracts' HttpClient bad-input check found: each was a plain TypeError, a CONNECTION
// error counted against the breaker, or a timer that fired at once.
describe.each(TRANSPORTS)('junk the bad-input check found, over %s', (transport) => {
  let server: HttpServer;

  beforeAll(async () => {
    server = await startHttpServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.setHandler(faults.json(200, { ok: true }));
  });

  const client = () =>
    createHttpClient({
      transport,
      baseUrl: server.url,
      circuitBreaker: { consecutiveFailures: 1, openMs: 600_000 },
    });

  it('timeouts and delays past 2^31 - 1 ms are INVALID_ARGUMENT before any attempt (a timer would fire at once)', async () => {
    const http = client();
    try {
      for (const options of [
        { timeoutMs: 2 ** 31 },
        { timeoutMs: 1e21 },
        { deadlineMs: Number.MAX_SAFE_INTEGER },
        { retry: { maxDelayMs: 2 ** 31 } },
      ]) {
        const error = await rejectionOf(http.get('/x', options));
        expect([Object.keys(options)[0], error.code]).toEqual([Object.keys(options)[0], 'INVALID_ARGUMENT']);
      }
      expect(() => createHttpClient({ transport, timeoutMs: 2 ** 31 })).toThrow(/at most 2147483647 ms/);
      expect(server.requests).toHaveLength(0);
      expect((await http.get('/x')).status).toBe(200);
    } finally {
      await http.close();
    }
  });

  it('a body stream of objects, or one that fails, is INTEGRITY and leaves the breaker closed', async () => {
    const http = client();
    try {
      const objects = await rejectionOf(http.post('/x', { body: Readable.from([{ a: 1 }]) }));
      expect(objects.code).toBe('INTEGRITY');
      expect(http.circuitState(server.origin)).toBe('closed');
      const failing = new Readable({
        read() {
          this.destroy(new Error('the source failed'));
        },
      });
      const error = await rejectionOf(http.post('/x', { body: failing }));
      expect(error.code).toBe('INTEGRITY');
      // One failure would open this breaker: the caller's stream did not count as one.
      expect(http.circuitState(server.origin)).toBe('closed');
      expect((await http.get('/x')).status).toBe(200);
    } finally {
      await http.close();
    }
  });

  it('a request that cannot be read, and a look-alike signal, are INVALID_ARGUMENT', async () => {
    const http = client();
    try {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      const throwing = {
        url: '/x',
        get headers(): never {
          throw new Error('getter');
        },
      };
      for (const request of [proxy, throwing, { url: '/x', signal: Object.create(AbortSignal.prototype) }]) {
        const error = await rejectionOf(http.request(request as never));
        expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      }
      const sparse = new Array(2 ** 32 - 1);
      const error = await rejectionOf(http.get('/x', { retry: { statusCodes: sparse } }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(server.requests).toHaveLength(0);
    } finally {
      await http.close();
    }
  });
});
