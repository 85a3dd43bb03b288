import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  Channels,
  type HttpClient,
  type HttpRequestEvent,
  type HttpRetryEvent,
  isInfrastructureError,
  RateLimitedError,
  subscribe,
} from '../src/index.js';
import { FakeHttpClient } from '../src/memory.js';

async function codeOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (isInfrastructureError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('FakeHttpClient scripting', () => {
  it('answers from the queue in order, then from the handler, and records every request', async () => {
    const http = new FakeHttpClient({
      baseUrl: 'https://api.example.com/v1/',
      headers: { 'User-Agent': 'test-agent' },
      handler: (req) => ({ status: 200, json: { from: 'handler', path: req.path } }),
    });
    http.enqueue(
      { status: 201, json: { id: 7 } },
      { status: 200, body: 'second', headers: { 'X-A': ['1', '2'] } },
    );
    expect(http.pendingResponses).toBe(2);

    const first = await http.post('things', {
      json: { name: 'x' },
      query: { dryRun: false },
      headers: { 'X-Trace': 't1' },
    });
    expect(first.status).toBe(201);
    expect(first.json()).toEqual({ id: 7 });
    expect(first.headers['content-type']).toBe('application/json');
    const second = await http.get('/other');
    expect(second.text()).toBe('second');
    expect(second.headers['x-a']).toBe('1, 2');
    const third = await http.get('https://elsewhere.example.com/x');
    expect(third.json()).toEqual({ from: 'handler', path: '/x' });
    expect(http.pendingResponses).toBe(0);

    expect(http.requests).toHaveLength(3);
    const [post] = http.requests;
    expect(post).toMatchObject({
      method: 'POST',
      url: 'https://api.example.com/v1/things?dryRun=false',
      path: '/v1/things',
      query: { dryRun: 'false' },
      json: { name: 'x' },
      attempt: 1,
    });
    expect(post!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'test-agent',
      'x-trace': 't1',
    });
    expect(post!.body.toString()).toBe('{"name":"x"}');
    expect(http.lastRequest?.url).toBe('https://elsewhere.example.com/x');

    http.reset();
    expect(http.requests).toHaveLength(0);
  });

  it('prefixes relative URLs with baseUrl, as @voelgoed/http does', async () => {
    const http = new FakeHttpClient({
      baseUrl: 'https://api.example.com/v1//',
      handler: () => ({ status: 204 }),
    });
    await http.get('/things');
    await http.get('things?x=1');
    await http.get('https://other.example.com/y');
    expect(http.requests.map((r) => r.url)).toEqual([
      'https://api.example.com/v1/things',
      'https://api.example.com/v1/things?x=1',
      'https://other.example.com/y',
    ]);
  });

  it('rejects with a non-retryable CONNECTION error when nothing answers', async () => {
    const http = new FakeHttpClient();
    expect(await codeOf(() => http.get('https://example.com/'))).toBe('CONNECTION');
    expect(http.requests).toHaveLength(1);
  });

  it('treats a thrown or queued error as a network failure: retried for GET, not for POST', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://example.com' });
    http.enqueueError(new Error('ECONNRESET')).enqueue({ status: 200, body: 'ok' });
    const response = await http.get('/x');
    expect(response.attempts).toBe(2);
    http.enqueueError(new Error('ECONNRESET'));
    expect(await codeOf(() => http.post('/x'))).toBe('CONNECTION');
    http.enqueueError(new RateLimitedError('[test] slow down', 10));
    http.enqueue({ status: 204 });
    expect((await http.delete('/x')).status).toBe(204);
    const failing = new FakeHttpClient({
      baseUrl: 'https://example.com',
      handler: () => {
        throw new Error('boom');
      },
    });
    expect(await codeOf(() => failing.get('/x', { retry: 1 }))).toBe('CONNECTION');
    expect(failing.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('passes the delays the real client would wait to sleep (Retry-After, capped; else doubling backoff)', async () => {
    const waits: number[] = [];
    const http = new FakeHttpClient({
      baseUrl: 'https://example.com',
      sleep: async (ms) => {
        waits.push(ms);
      },
      retry: { limit: 3, maxDelayMs: 5000 },
    });
    http.enqueue(
      { status: 503, headers: { 'Retry-After': '2' } },
      { status: 429, headers: { 'retry-after': '60' } },
      { status: 502 },
      { status: 200 },
    );
    const response = await http.get('/x');
    expect(response.attempts).toBe(4);
    expect(waits).toEqual([2000, 5000, 400]);
  });

  it('stops at the retry limit and rejects with the last status', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://example.com', retry: 1 });
    http.enqueue({ status: 503 }, { status: 503 }, { status: 200 });
    expect(await codeOf(() => http.get('/x'))).toBe('HTTP_STATUS');
    expect(http.requests).toHaveLength(2);
    expect(http.pendingResponses).toBe(1);
  });

  it('uses the idempotency key generator on every attempt of one request', async () => {
    let n = 0;
    const http = new FakeHttpClient({
      baseUrl: 'https://example.com',
      generateIdempotencyKey: () => `key-${++n}`,
    });
    http.enqueue({ status: 500 }, { status: 201 });
    await http.post('/pay', { idempotencyKey: true });
    expect(http.requests.map((r) => r.headers['idempotency-key'])).toEqual(['key-1', 'key-1']);
  });

  it('times out slow scripted responses, and enforces deadlineMs across attempts', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://example.com' });
    http.enqueue({ status: 200, delayMs: 5000 });
    expect(await codeOf(() => http.get('/slow', { timeoutMs: 20, retry: false }))).toBe('TIMEOUT');
    const slowHandler = new FakeHttpClient({
      baseUrl: 'https://example.com',
      handler: () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 5000).unref()),
    });
    expect(await codeOf(() => slowHandler.get('/x', { timeoutMs: 1000, deadlineMs: 30, retry: 5 }))).toBe(
      'TIMEOUT',
    );
    expect(slowHandler.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('tells a handler that its attempt is over through request.signal', async () => {
    let aborted = false;
    const http = new FakeHttpClient({
      baseUrl: 'https://example.com',
      handler: (req) =>
        new Promise((resolve) => {
          req.signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ status: 200 });
          });
        }),
    });
    expect(await codeOf(() => http.get('/x', { timeoutMs: 10, retry: false }))).toBe('TIMEOUT');
    expect(aborted).toBe(true);
  });

  it('drops HEAD bodies, streams bodies, and sends stream request bodies without retrying them', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://example.com' });
    http.enqueue({ status: 200, body: 'ignored' });
    expect((await http.request({ method: 'HEAD', url: '/' })).body.length).toBe(0);
    http.enqueue({ status: 200, body: 'streamed body' });
    const streamed = await http.stream({ url: '/s' });
    const chunks: Buffer[] = [];
    for await (const chunk of streamed.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('streamed body');
    http.enqueue({ status: 503 }, { status: 200 });
    expect(await codeOf(() => http.put('/upload', { body: Readable.from(['a', 'b']) }))).toBe('HTTP_STATUS');
    expect(http.lastRequest?.body.toString()).toBe('ab');
    expect(http.pendingResponses).toBe(1);
  });

  it('refuses bad construction options with INVALID_ARGUMENT', async () => {
    for (const options of [
      { baseUrl: 'not a url' },
      { baseUrl: 'ftp://x/' },
      { timeoutMs: 0 },
      { retry: -2 },
    ]) {
      expect(await codeOf(async () => new FakeHttpClient(options))).toBe('INVALID_ARGUMENT');
    }
    expect(await codeOf(() => new FakeHttpClient().get('/relative'))).toBe('INVALID_ARGUMENT');
  });

  it('refuses a malformed scripted response with INVALID_ARGUMENT', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://example.com' });
    http.enqueue({ status: 42 });
    expect(await codeOf(() => http.get('/'))).toBe('INVALID_ARGUMENT');
  });
});

describe('FakeHttpClient events', () => {
  it('publishes a request event per attempt and a retry event per retry, without paths', async () => {
    const requests: HttpRequestEvent[] = [];
    const retries: HttpRetryEvent[] = [];
    const offRequests = subscribe(Channels.httpRequest, (e) => requests.push(e));
    const offRetries = subscribe(Channels.httpRetry, (e) => retries.push(e));
    try {
      const http = new FakeHttpClient({ baseUrl: 'https://api.example.com' });
      http.enqueue({ status: 503, headers: { 'retry-after': '0' } }, { status: 200 });
      await http.get('/users/42?token=secret');
    } finally {
      offRequests();
      offRetries();
    }
    expect(requests.map((e) => [e.attempt, e.status, e.outcome])).toEqual([
      [1, 503, 'error'],
      [2, 200, 'ok'],
    ]);
    expect(retries).toEqual([
      { method: 'GET', origin: 'https://api.example.com', attempt: 2, delayMs: 0, reason: '503' },
    ]);
    expect(JSON.stringify([requests, retries])).not.toMatch(/users|secret/);
  });
});

describe('FakeHttpClient in business code', () => {
  // Code written against the port: charges a card once, safely retried.
  async function charge(http: HttpClient, amountCents: number): Promise<string> {
    const response = await http.post('/charges', {
      json: { amountCents },
      idempotencyKey: true,
      timeoutMs: 5000,
    });
    return response.json<{ id: string }>().id;
  }

  it('runs unchanged against the fake, with the gateway failing once', async () => {
    const http = new FakeHttpClient({ baseUrl: 'https://payments.example.com' });
    http.enqueue({ status: 502 }, { status: 201, json: { id: 'ch_1' } });
    expect(await charge(http, 1250)).toBe('ch_1');
    const [a, b] = http.requests;
    expect(a!.json).toEqual({ amountCents: 1250 });
    expect(b!.headers['idempotency-key']).toBe(a!.headers['idempotency-key']);
  });
});
