import { ErrorCodes, type HttpStatusError, type TimeoutError } from '../errors.js';
import { expect } from './assert.js';
import type { HttpCheck } from './http-client-support.js';
import { expectInfrastructureError } from './shared.js';

const { INVALID_ARGUMENT, HTTP_STATUS, TIMEOUT, ABORTED } = ErrorCodes;

/** Checks of error statuses: a 4xx or 5xx rejects with `HttpStatusError`, unless `throwHttpErrors: false`. */
export function statusChecks(): HttpCheck[] {
  return [
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
      name: 'a 500 to a POST without an idempotency key may have acted (maybeExecuted, not retryable); a 503 did not',
      async run({ client }) {
        const status = async (call: () => Promise<unknown>) =>
          (await expectInfrastructureError(call, HTTP_STATUS)) as HttpStatusError;
        const post = await status(() => client.post('/status/500', { json: {}, retry: false }));
        expect(post.maybeExecuted).toBe(true);
        expect(post.retryable).toBe(false);
        const keyed = await status(() =>
          client.post('/status/502', { json: {}, idempotencyKey: 'conformance-status', retry: false }),
        );
        expect(keyed.maybeExecuted).toBe(true);
        expect(keyed.retryable).toBe(true);
        const unavailable = await status(() => client.post('/status/503', { json: {}, retry: false }));
        expect(unavailable.maybeExecuted).toBe(false);
        expect(unavailable.retryable).toBe(true);
        const refused = await status(() => client.post('/status/400', { json: {}, retry: false }));
        expect(refused.maybeExecuted).toBe(false);
        expect(refused.retryable).toBe(false);
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
  ];
}

/** Checks of requests cut short: by `timeoutMs`, and by the caller's signal. */
export function cancellationChecks(): HttpCheck[] {
  return [
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
      name: 'a timed-out POST may have run (maybeExecuted, not retryable); a timed-out GET or keyed POST is retryable',
      async run({ client }) {
        const timedOut = async (call: () => Promise<unknown>) =>
          (await expectInfrastructureError(call, TIMEOUT)) as TimeoutError;
        const options = { timeoutMs: 100, retry: false } as const;
        const post = await timedOut(() => client.post('/slow?ms=5000', { json: {}, ...options }));
        expect(post.maybeExecuted).toBe(true);
        expect(post.retryable).toBe(false);
        const keyed = await timedOut(() =>
          client.post('/slow?ms=5000', { json: {}, idempotencyKey: 'conformance-1', ...options }),
        );
        expect(keyed.retryable).toBe(true);
        const get = await timedOut(() => client.get('/slow?ms=5000', options));
        expect(get.retryable).toBe(true);
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
  ];
}

/** Checks of validation: a caller's mistake rejects with `INVALID_ARGUMENT`. */
export function validationChecks(): HttpCheck[] {
  return [
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
      name: 'bad options (timeout, retry, method, json with body, unknown fields) reject with INVALID_ARGUMENT',
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
          // An option the port does not know would be dropped in silence: got's names, a typo.
          ["got's searchParams", () => client.get('/echo', { searchParams: { a: '1' } } as object)],
          ['idempotencyKy', () => client.post('/echo', { idempotencyKy: true } as object)],
          ['timeout (got) for timeoutMs', () => client.get('/echo', { timeout: { request: 10 } } as object)],
          ['retry.limt', () => client.get('/echo', { retry: { limt: 0 } as object })],
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
  ];
}
