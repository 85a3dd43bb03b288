import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, type HttpStatusError } from '../errors.js';
import type { HttpClient, HttpResponse } from '../ports/http.js';
import { expect } from './assert.js';
import { httpClientBadInputCheck } from './http-client-bad-input.js';
import {
  CONFORMANCE_JSON,
  type ConformanceHttpHandler,
  type ConformanceHttpServer,
  createConformanceHttpHandler,
  largeBody,
  startConformanceHttpServer,
} from './http-conformance-server.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  expectInfrastructureError,
  freshImpl,
  registerTest,
  resolveRunner,
  suiteArguments,
} from './shared.js';

/** What the factory of {@link describeHttpClient} is given. */
export interface HttpConformanceContext {
  /** `http://127.0.0.1:<port>` of a real local server serving `handler`: give it to a real client. */
  baseUrl: string;
  /** The suite's routes, for a fake client that does not go over the network. */
  handler: ConformanceHttpHandler;
}

/** What each HTTP check runs against. */
export interface HttpConformanceTarget<T extends HttpClient = HttpClient> {
  client: T;
  /** The base URL the client resolves relative URLs against. */
  baseUrl: string;
}

/** Options of {@link describeHttpClient}. */
export type HttpClientConformanceOptions<T extends HttpClient = HttpClient> = ConformanceOptions<T>;

const { INVALID_ARGUMENT, HTTP_STATUS, TIMEOUT, ABORTED } = ErrorCodes;

/** Quick retries: the suite's 503s carry Retry-After: 0. */
const RETRY = { limit: 3, maxDelayMs: 50 } as const;

interface Echo {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  body: string;
  bodyBase64: string;
}

async function attempts(client: HttpClient, id: string) {
  return (await client.get(`/attempts/${id}`)).json<{ count: number; idempotencyKeys: (string | null)[] }>();
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * The checks of {@link describeHttpClient}, each a named `(target) => Promise<void>` where the
 * target's client talks to the conformance routes. Names are stable (see `findCheck`).
 */
export const httpClientChecks: readonly ConformanceCheck<HttpConformanceTarget>[] = [
  {
    name: 'GET gives status, lower-case headers, the body, text() and json()',
    async run({ client }) {
      const response = await client.get('/json');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      for (const name of Object.keys(response.headers)) expect(name).toBe(name.toLowerCase());
      expect(response.json()).toEqual(CONFORMANCE_JSON);
      expect(JSON.parse(response.text())).toEqual(CONFORMANCE_JSON);
      expect(JSON.parse(Buffer.from(response.body).toString('utf8'))).toEqual(CONFORMANCE_JSON);
      expect(response.attempts).toBe(1);
    },
  },
  {
    name: 'response.url is the absolute URL, query included',
    async run({ client, baseUrl }) {
      const response = await client.get('/echo', { query: { x: 1 } });
      expect(response.url).toBe(new URL('/echo?x=1', baseUrl).href);
    },
  },
  {
    name: 'every method reaches the server (helpers and request)',
    async run({ client }) {
      const seen: string[] = [];
      const echo = (r: HttpResponse) => seen.push(r.json<Echo>().method);
      echo(await client.get('/echo'));
      echo(await client.post('/echo'));
      echo(await client.put('/echo'));
      echo(await client.patch('/echo'));
      echo(await client.delete('/echo'));
      echo(await client.request({ method: 'OPTIONS', url: '/echo' }));
      expect(seen).toEqual(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
      const head = await client.request({ method: 'HEAD', url: '/echo' });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    },
  },
  {
    name: 'query values are encoded and added to the query already in the URL',
    async run({ client }) {
      const response = await client.get('/echo?z=0', {
        query: { a: 1, b: 'x y&z=ü', c: [1, 'two'], d: undefined, e: true },
      });
      expect(response.json<Echo>().query).toEqual({
        z: '0',
        a: '1',
        b: 'x y&z=ü',
        c: ['1', 'two'],
        e: 'true',
      });
    },
  },
  {
    name: 'a json body is sent as JSON with content-type application/json',
    async run({ client }) {
      const payload = { a: 1, s: 'é ✓', list: [true, null] };
      const echo = (await client.post('/echo', { json: payload })).json<Echo>();
      expect(echo.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(echo.body)).toEqual(payload);
    },
  },
  {
    name: 'string, binary and stream bodies arrive byte for byte',
    async run({ client }) {
      const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      const fromBytes = (await client.put('/echo', { body: new Uint8Array(binary) })).json<Echo>();
      expect(Buffer.from(fromBytes.bodyBase64, 'base64').equals(binary)).toBe(true);
      const fromString = (await client.post('/echo', { body: 'plain ✓ text' })).json<Echo>();
      expect(fromString.body).toBe('plain ✓ text');
      const fromStream = (
        await client.post('/echo', { body: Readable.from([binary.subarray(0, 100), binary.subarray(100)]) })
      ).json<Echo>();
      expect(Buffer.from(fromStream.bodyBase64, 'base64').equals(binary)).toBe(true);
    },
  },
  {
    name: 'request headers arrive; response headers are lower-case with repeats joined',
    async run({ client }) {
      const response = await client.get('/echo', {
        headers: { 'X-Custom-Header': 'value 1', 'x-skip': undefined },
      });
      const echo = response.json<Echo>();
      expect(echo.headers['x-custom-header']).toBe('value 1');
      expect(echo.headers['x-skip']).toBeUndefined();
      expect(response.headers['x-echo-repeat']).toBe('a, b');
    },
  },
  {
    name: 'a 4xx rejects with HttpStatusError (HTTP_STATUS) carrying status, headers and body',
    async run({ client }) {
      const error = (await expectInfrastructureError(
        () => client.get('/status/404'),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(error.status).toBe(404);
      expect(error.retryable).toBe(false);
      expect(error.response.status).toBe(404);
      expect(error.response.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(Buffer.from(error.response.body).toString('utf8'))).toEqual({ status: 404 });
      const conflict = (await expectInfrastructureError(
        () => client.post('/status/409', { json: {} }),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(conflict.status).toBe(409);
    },
  },
  {
    name: 'a 5xx rejects with a retryable HttpStatusError',
    async run({ client }) {
      const error = (await expectInfrastructureError(
        () => client.get('/status/500', { retry: false }),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(error.status).toBe(500);
      expect(error.retryable).toBe(true);
    },
  },
  {
    name: 'throwHttpErrors: false resolves with the error status and body',
    async run({ client }) {
      const response = await client.get('/status/404', { throwHttpErrors: false });
      expect(response.status).toBe(404);
      expect(response.json()).toEqual({ status: 404 });
    },
  },
  {
    name: 'a GET answered 503 (Retry-After: 0) is retried until it succeeds',
    async run({ client }) {
      const id = randomUUID();
      const response = await client.get(`/sequence/${id}`, { retry: RETRY });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ attempt: 3 });
      expect(response.attempts).toBe(3);
      expect((await attempts(client, id)).count).toBe(3);
    },
  },
  {
    name: 'retry: false makes a single attempt',
    async run({ client }) {
      const id = randomUUID();
      const error = (await expectInfrastructureError(
        () => client.get(`/sequence/${id}`, { retry: false }),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(error.status).toBe(503);
      expect((await attempts(client, id)).count).toBe(1);
    },
  },
  {
    name: 'a POST without an idempotency key is not retried',
    async run({ client }) {
      const id = randomUUID();
      const error = (await expectInfrastructureError(
        () => client.post(`/sequence/${id}`, { json: { n: 1 }, retry: RETRY }),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(error.status).toBe(503);
      const seen = await attempts(client, id);
      expect(seen.count).toBe(1);
      expect(seen.idempotencyKeys).toEqual([null]);
    },
  },
  {
    name: 'a POST with idempotencyKey: true is retried, with the same Idempotency-Key on every attempt',
    async run({ client }) {
      const id = randomUUID();
      const response = await client.post(`/sequence/${id}`, {
        json: { n: 1 },
        idempotencyKey: true,
        retry: RETRY,
      });
      expect(response.status).toBe(200);
      expect(response.attempts).toBe(3);
      const seen = await attempts(client, id);
      expect(seen.count).toBe(3);
      const [first] = seen.idempotencyKeys;
      expect(typeof first).toBe('string');
      expect(first!.length).toBeGreaterThan(0);
      expect(seen.idempotencyKeys).toEqual([first, first, first]);
      const other = randomUUID();
      await client.post(`/sequence/${other}`, { idempotencyKey: true, retry: RETRY });
      expect((await attempts(client, other)).idempotencyKeys[0]).not.toBe(first);
    },
  },
  {
    name: 'a given idempotency key is sent as the Idempotency-Key header',
    async run({ client }) {
      const echo = (await client.post('/echo', { json: {}, idempotencyKey: 'order-123' })).json<Echo>();
      expect(echo.headers['idempotency-key']).toBe('order-123');
      const plain = (await client.post('/echo', { json: {} })).json<Echo>();
      expect(plain.headers['idempotency-key']).toBeUndefined();
    },
  },
  {
    name: 'a response slower than timeoutMs rejects with TIMEOUT',
    async run({ client }) {
      await expectInfrastructureError(
        () => client.get('/slow?ms=5000', { timeoutMs: 100, retry: false }),
        TIMEOUT,
      );
    },
  },
  {
    name: 'aborting the signal rejects with ABORTED (before and during the request)',
    async run({ client }) {
      const before = new AbortController();
      before.abort();
      await expectInfrastructureError(() => client.get('/echo', { signal: before.signal }), ABORTED);
      const during = new AbortController();
      const pending = client.get('/slow?ms=5000', { signal: during.signal, retry: false });
      setTimeout(() => during.abort(), 50);
      await expectInfrastructureError(pending, ABORTED);
    },
  },
  {
    name: 'malformed URLs reject with INVALID_ARGUMENT',
    async run({ client }) {
      for (const url of [
        '',
        'http://',
        'http://exa mple.com/',
        'http://[::1/',
        'ftp://example.com/file',
        'mailto:a@b.c',
      ]) {
        try {
          await expectInfrastructureError(() => client.get(url), INVALID_ARGUMENT);
        } catch (error) {
          throw new Error(`url ${JSON.stringify(url)}: ${(error as Error).message}`);
        }
      }
      await expectInfrastructureError(() => client.get(42 as never), INVALID_ARGUMENT);
    },
  },
  {
    name: 'bad options (timeout, retry, method, json with body) reject with INVALID_ARGUMENT',
    async run({ client }) {
      const cases: [string, () => Promise<unknown>][] = [
        ['timeoutMs 0', () => client.get('/echo', { timeoutMs: 0 })],
        ['timeoutMs -1', () => client.get('/echo', { timeoutMs: -1 })],
        ['timeoutMs NaN', () => client.get('/echo', { timeoutMs: Number.NaN })],
        ['timeoutMs Infinity', () => client.get('/echo', { timeoutMs: Number.POSITIVE_INFINITY })],
        ['retry -1', () => client.get('/echo', { retry: -1 })],
        ['retry limit 1.5', () => client.get('/echo', { retry: { limit: 1.5 } })],
        ['method FETCH', () => client.request({ method: 'FETCH' as never, url: '/echo' })],
        ['json and body', () => client.post('/echo', { json: {}, body: 'x' })],
        ['empty idempotency key', () => client.post('/echo', { idempotencyKey: '' })],
        ['header with a newline', () => client.get('/echo', { headers: { 'x-a': 'a\r\nx-b: b' } })],
      ];
      for (const [why, run] of cases) {
        try {
          await expectInfrastructureError(run, INVALID_ARGUMENT);
        } catch (error) {
          throw new Error(`${why}: ${(error as Error).message}`);
        }
      }
    },
  },
  {
    name: 'json() of a body that is not JSON throws INVALID_ARGUMENT',
    async run({ client }) {
      const response = await client.get('/text');
      expect(response.text()).toBe('plain text, not JSON');
      await expectInfrastructureError(() => response.json(), INVALID_ARGUMENT);
    },
  },
  {
    name: 'stream() gives the body as a Readable',
    async run({ client }) {
      const bytes = 1024 * 1024 + 7;
      const response = await client.stream({ url: `/large?bytes=${bytes}` });
      expect(response.status).toBe(200);
      expect(response.attempts).toBe(1);
      const body = await readAll(response.body);
      expect(body.length).toBe(bytes);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(sha(body)).toBe(sha(largeBody(bytes)));
    },
  },
  {
    name: 'stream() rejects an error status with HttpStatusError',
    async run({ client }) {
      const error = (await expectInfrastructureError(
        () => client.stream({ url: '/status/404' }),
        HTTP_STATUS,
      )) as HttpStatusError;
      expect(error.status).toBe(404);
    },
  },
  {
    name: '20 concurrent requests each get their own answer',
    async run({ client }) {
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => client.post('/echo', { query: { i }, json: { i } })),
      );
      responses.forEach((response, i) => {
        const echo = response.json<Echo>();
        expect(echo.query).toEqual({ i: String(i) });
        expect(JSON.parse(echo.body)).toEqual({ i });
      });
    },
  },
  httpClientBadInputCheck(),
  ...lifecycleChecks<HttpConformanceTarget>((target) => target.client),
];

/**
 * Registers the `HttpClient` conformance suite. Each test starts a local `node:http` server
 * serving the conformance routes (stopped after the test); `factory` gets its `baseUrl` (for a
 * real client) and the `handler` itself (for a fake one) and returns a fresh client.
 *
 * @example
 * describeHttpClient('FakeHttpClient', ({ baseUrl, handler }) => new FakeHttpClient({ baseUrl, handler }));
 * describeHttpClient('GotHttpClient', ({ baseUrl }) => createHttpClient({ baseUrl }));
 */
export function describeHttpClient<T extends HttpClient>(
  factory: (context: HttpConformanceContext) => T | Promise<T>,
  options?: HttpClientConformanceOptions<T>,
): void;
export function describeHttpClient<T extends HttpClient>(
  name: string,
  factory: (context: HttpConformanceContext) => T | Promise<T>,
  options?: HttpClientConformanceOptions<T>,
): void;
export function describeHttpClient(...args: unknown[]): void {
  const what = 'describeHttpClient';
  const { name, factory, options } = suiteArguments<
    (context: HttpConformanceContext) => HttpClient | Promise<HttpClient>,
    HttpClientConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  const { describe } = runner;
  describe(name ?? 'HttpClient conformance', () => {
    const handler = createConformanceHttpHandler();
    // A server per test, started and stopped by the same hooks as the client: the runner's
    // per-suite hooks differ in name (beforeAll in Jest and Vitest, before in node:test).
    const current = freshImpl<{ server: ConformanceHttpServer; client: HttpClient }>(
      async () => {
        const server = await startConformanceHttpServer(handler);
        try {
          return { server, client: await factory({ baseUrl: server.baseUrl, handler }) };
        } catch (error) {
          await server.close();
          throw error;
        }
      },
      {
        runner,
        teardown: async ({ server, client }) => {
          try {
            await options.teardown?.(client);
          } finally {
            await server.close();
          }
        },
      },
    );
    for (const check of httpClientChecks) {
      registerTest(
        runner,
        check.name,
        () => check.run({ client: current().client, baseUrl: current().server.baseUrl }),
        check.timeoutMs,
      );
    }
    options.additionalTests?.(() => current().client, runner);
  });
}
