import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient, type HttpClientOptions, isHttpError } from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

const SECRET = 'Bearer s3cr3t-t0ken';

describe.each(TRANSPORTS)('caller mistakes over %s', (transport) => {
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

  it.each<[string, HttpClientOptions]>([
    ['headers as a string', { headers: 'abc' as never }],
    ['headers as an array', { headers: ['x-a'] as never }],
    ['a non-latin1 header value', { headers: { 'x-name': 'Zoë Ω' } }],
    ['CR/LF in a header value', { headers: { authorization: `${SECRET}\r\nx-injected: 1` } }],
    ['NUL in a header value', { headers: { 'x-a': 'a\0b' } }],
    ['an invalid header name', { headers: { 'bad name': 'v' } }],
    ['an object header value', { headers: { 'x-a': {} as never } }],
    ['a null header value', { headers: { 'x-a': null as never } }],
    ['a NaN header value', { headers: { 'x-a': Number.NaN } }],
    ['a transfer-encoding header', { headers: { 'transfer-encoding': 'chunked' } }],
    ['a non-numeric content-length', { headers: { 'content-length': 'ten' } }],
    ['addressFilter: 5', { addressFilter: 5 as never }],
    ["sensitiveHeaders: 'x'", { sensitiveHeaders: 'x' as never }],
    ['sensitiveHeaders with a non-string', { sensitiveHeaders: [5] as never }],
    ['an invalid idempotencyHeader', { idempotencyHeader: 'bad name' }],
    ['idempotencyHeader: content-length', { idempotencyHeader: 'Content-Length' }],
    ["circuitBreaker: 'x'", { circuitBreaker: 'x' as never }],
    ['retry.methods: 5', { retry: { methods: 5 as never } }],
    ["retry.statusCodes: 'abc'", { retry: { statusCodes: 'abc' as never } }],
    ["decompress: 'yes'", { decompress: 'yes' as never }],
    ['baseUrl as a URL object', { baseUrl: new URL('http://example.com') as never }],
    ['baseUrl with a query', { baseUrl: 'http://example.com/v1?token=abc' }],
    ['baseUrl with a fragment', { baseUrl: 'http://example.com/v1#x' }],
    ["got's prefixUrl", { prefixUrl: 'http://example.com' } as never],
    ["got's timeout", { timeout: { request: 1000 } } as never],
    ['a misspelt retry field', { retry: { limt: 0 } as never }],
    ['a misspelt circuitBreaker field', { circuitBreaker: { consecutiveFailure: 1 } as never }],
    ['a misspelt bulkhead field', { bulkhead: { maxConcurent: 1 } as never }],
    ['a misspelt retryBudget field', { retryBudget: { minRetry: 0 } as never }],
    ['a misspelt proxy field', { proxy: { url: 'http://proxy.internal:3128', noproxy: '*' } as never }],
  ])('refuses %s at creation with INVALID_ARGUMENT', (_name, options) => {
    let error: unknown;
    try {
      createHttpClient({ transport, ...options });
    } catch (e) {
      error = e;
    }
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    const message = (error as Error).message;
    expect(message.startsWith('[voelgoed:http] ')).toBe(true);
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain('Zoë');
  });

  it.each<[string, Record<string, unknown>]>([
    ['circuitBreaker.consecutiveFailure', {}],
    ['bulkhead.maxConcurent', {}],
    ['retryBudget.minRetry', {}],
    ['proxy.noproxy', { url: 'http://proxy.internal:3128' }],
  ])('names the unknown field %s of a policy object, as it does for retry', async (path, rest) => {
    const [object, field] = path.split('.') as [string, string];
    const withField = (value: unknown) =>
      ({ transport, [object]: { ...rest, [field]: value } }) as HttpClientOptions;
    expect(() => createHttpClient(withField(1))).toThrow(`${object} has an unknown field "${field}"`);
    // An undefined value counts as not given, as everywhere else.
    await createHttpClient(withField(undefined)).close();
  });

  it('refuses a route (a telemetry label) with a query, a fragment or control characters, before any attempt', async () => {
    const client = createHttpClient({ transport });
    const url = `${server.origin}/charges/42?token=abc`;
    try {
      for (const route of ['/charges/:id?token=abc', '/charges/:id#x', '/charges/\n:id', '?', 5]) {
        const error = await rejectionOf(client.get(url, { route: route as never }));
        expect([route, error.code]).toEqual([route, 'INVALID_ARGUMENT']);
        expect(error.message).not.toContain('abc');
      }
      expect(server.requests).toHaveLength(0);
      expect(client.circuitState(server.origin)).toBe('closed');
      expect((await client.get(url, { route: '/charges/:id' })).status).toBe(200);
    } finally {
      await client.close();
    }
  });

  it('refuses a content-length that disagrees with a body of known length, before any attempt', async () => {
    const client = createHttpClient({ transport, retry: { limit: 2, baseDelayMs: 1 } });
    const url = `${server.origin}/length`;
    const calls: [string, () => Promise<unknown>][] = [
      ['text shorter', () => client.post(url, { body: 'hello', headers: { 'content-length': '2' } })],
      ['text longer', () => client.put(url, { body: 'hello', headers: { 'content-length': 9 } })],
      // UTF-8 bytes, not UTF-16 units: 'Zoë' is 4 bytes.
      ['text in characters', () => client.put(url, { body: 'Zoë', headers: { 'content-length': '3' } })],
      ['bytes', () => client.put(url, { body: new Uint8Array(4), headers: { 'content-length': '5' } })],
      ['json', () => client.post(url, { json: { a: 1 }, headers: { 'content-length': '1' } })],
      ['no body', () => client.delete(url, { headers: { 'content-length': '5' } })],
    ];
    try {
      for (const [name, call] of calls) {
        const error = await rejectionOf(call());
        expect([name, error.code, error.message]).toEqual([
          name,
          'INVALID_ARGUMENT',
          expect.stringContaining('content-length'),
        ]);
      }
      expect(server.requests).toHaveLength(0);
      // One length set for the whole client is held against every request's body too.
      const fixed = createHttpClient({ transport, headers: { 'content-length': '2' } });
      try {
        expect((await rejectionOf(fixed.put(url, { body: 'hello' }))).code).toBe('INVALID_ARGUMENT');
      } finally {
        await fixed.close();
      }
      expect(server.requests).toHaveLength(0);
      expect(client.circuitState(server.origin)).toBe('closed');

      // A length that matches goes out as it is, and the connection stays usable.
      const ok = await client.put(url, { body: 'Zoë', headers: { 'content-length': '4' } });
      expect(ok.status).toBe(200);
      expect((await client.delete(url, { headers: { 'content-length': '0' } })).status).toBe(200);
      expect((await client.get(url)).status).toBe(200);
      expect(server.requests.map((r) => [r.method, r.body.toString()])).toEqual([
        ['PUT', 'Zoë'],
        ['DELETE', ''],
        ['GET', ''],
      ]);
    } finally {
      await client.close();
    }
  });

  it('sends numbers and booleans in client-wide headers as text, and leaves out undefined ones', async () => {
    const client = createHttpClient({
      transport,
      headers: { 'X-Count': 3, 'x-flag': true, 'x-latin1': 'Zoë', 'x-skip': undefined },
    });
    try {
      await client.get(`${server.origin}/h`, { headers: { 'x-per-request': 7 } });
      const seen = server.requests[0]!.headers;
      expect(seen['x-count']).toBe('3');
      expect(seen['x-flag']).toBe('true');
      expect(seen['x-per-request']).toBe('7');
      expect(seen['x-latin1']).toBe('Zoë');
      expect(seen['x-skip']).toBeUndefined();
    } finally {
      await client.close();
    }
  });

  it('after 1,000 refused calls a valid request goes through: breaker closed, retry budget untouched, server saw none', async () => {
    const client = createHttpClient({
      transport,
      retry: { limit: 2, baseDelayMs: 1, maxDelayMs: 1 },
      // Exactly two retries in the window: a refused call that spent one would show below.
      retryBudget: { minRetries: 2, ratio: 0, windowMs: 600_000 },
      circuitBreaker: { consecutiveFailures: 3, openMs: 600_000 },
    });
    const requests = recordEvents(Channels.httpRequest);
    const retries = recordEvents(Channels.httpRetry);
    const url = `${server.origin}/mistakes`;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const mistakes: (() => Promise<unknown>)[] = [
      () => client.get(url, { headers: { 'x-name': 'Zoë Ω' } }),
      () => client.get(url, { headers: { authorization: `${SECRET}\r\nx-injected: 1` } }),
      () => client.get(url, { headers: { 'bad name': 'v' } }),
      () => client.get(url, { headers: { 'x-a': 'a\0b' } }),
      () => client.get(url, { headers: 'abc' as never }),
      () => client.get(url, { headers: { 'x-a': {} as never } }),
      () => client.put(url, { headers: { 'transfer-encoding': 'chunked' }, body: 'x' }),
      () => client.put(url, { headers: { expect: '100-continue' }, body: 'x' }),
      () => client.put(url, { headers: { 'content-length': '1' }, body: 'xx' }),
      () => client.post(url, { idempotencyKey: 'key\r\nx-injected: 1', body: 'x' }),
      () => client.post(url, { idempotencyKey: 'ключ', body: 'x' }),
      () => client.post(url, { json: circular }),
      () => client.post(url, { json: { amount: 10n } }),
      () => client.post(url, { json: () => 1 }),
      () => client.get(url, { query: { s: Symbol('s') as never } }),
      () => client.get('http://user:%zz@127.0.0.1/x'),
      () => client.request({ method: 5 as never, url }),
      () => client.stream({ url, headers: { 'x-name': 'Zoë Ω' } }),
    ];
    try {
      for (let i = 0; i < 1000; i++) {
        const error = await rejectionOf(mistakes[i % mistakes.length]!());
        expect({ call: i % mistakes.length, code: error.code, retryable: error.retryable }).toEqual({
          call: i % mistakes.length,
          code: 'INVALID_ARGUMENT',
          retryable: false,
        });
        expect(error.message).not.toContain('s3cr3t');
      }
      expect(server.requests).toHaveLength(0);
      expect(client.circuitState(server.origin)).toBe('closed');
      expect(requests.events.filter((e) => e.origin === server.origin)).toHaveLength(0);
      expect(retries.events.filter((e) => e.origin === server.origin)).toHaveLength(0);

      // Both budgeted retries are still there, and two failures do not open the breaker.
      server.setHandler(faults.statusSequence([503, 503, 200]));
      const response = await client.get(url);
      expect(response.status).toBe(200);
      expect(response.attempts).toBe(3);
      expect(server.requests).toHaveLength(3);
      expect(client.circuitState(server.origin)).toBe('closed');
    } finally {
      requests.stop();
      retries.stop();
      await client.close();
    }
  });

  it('treats an address filter that throws as a refusal, not a crash or a connection failure', async () => {
    const client = createHttpClient({
      transport,
      retry: { limit: 2, baseDelayMs: 1 },
      addressFilter: () => {
        throw new Error('filter bug');
      },
    });
    try {
      const port = new URL(server.origin).port;
      for (const url of [`http://127.0.0.1:${port}/f`, `http://localhost:${port}/f`]) {
        const error = await rejectionOf(client.get(url));
        expect(isHttpError(error, 'FORBIDDEN_TARGET')).toBe(true);
      }
      expect(server.requests).toHaveLength(0);
    } finally {
      await client.close();
    }
  });
});
