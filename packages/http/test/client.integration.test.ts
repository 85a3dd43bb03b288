import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, readAll, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient, type ResilientHttpClient } from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

describe.each(TRANSPORTS)('createHttpClient over %s', (transport) => {
  let server: HttpServer;
  let client: ResilientHttpClient;

  beforeAll(async () => {
    server = await startHttpServer();
    client = createHttpClient({
      transport,
      baseUrl: `${server.origin}/api`,
      headers: { 'x-client': 'tests' },
    });
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });
  afterEach(() => {
    server.requests.length = 0;
  });

  it('reports its transport', () => {
    expect(client.transport).toBe(transport);
  });

  it('sends JSON and reads JSON, with base URL, default headers and query params', async () => {
    server.setHandler((req, res, { body }) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: JSON.parse(body.toString()), url: req.url }));
    });
    const response = await client.post('/orders', {
      json: { amount: 12 },
      query: { page: 2, tag: ['a', 'b'], skip: undefined },
      headers: { 'X-Extra': 'yes' },
    });
    expect(response.status).toBe(201);
    expect(response.attempts).toBe(1);
    expect(response.json()).toEqual({ got: { amount: 12 }, url: '/api/orders?page=2&tag=a&tag=b' });
    expect(response.url).toBe(`${server.origin}/api/orders?page=2&tag=a&tag=b`);
    const seen = server.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-client']).toBe('tests');
    expect(seen.headers['x-extra']).toBe('yes');
  });

  it('returns bytes and text, and every method reaches the server', async () => {
    server.setHandler((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : `method ${req.method}`);
    });
    expect((await client.get('/x')).text()).toBe('method GET');
    expect((await client.put('/x', { body: 'a' })).text()).toBe('method PUT');
    expect((await client.patch('/x', { body: new Uint8Array([1]) })).text()).toBe('method PATCH');
    expect((await client.delete('/x')).text()).toBe('method DELETE');
    const head = await client.request({ method: 'HEAD', url: '/x' });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
  });

  it('streams a request body up and a response body down', async () => {
    server.setHandler((_req, res, { body }) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat([body, body] as Uint8Array[]));
    });
    const upload = Readable.from([Buffer.from('chunk-1,'), Buffer.from('chunk-2')]);
    const response = await client.stream({ method: 'POST', url: '/echo', body: upload });
    expect(response.status).toBe(200);
    expect((await readAll(response.body)).toString()).toBe('chunk-1,chunk-2chunk-1,chunk-2');
  });

  it('decompresses gzip responses', async () => {
    server.setHandler((req, res) => {
      expect(req.headers['accept-encoding']).toContain('gzip');
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ zipped: true })));
    });
    expect((await client.get('/gz')).json()).toEqual({ zipped: true });
  });

  it('with decompress off, asks for no encoding and returns the bytes as sent', async () => {
    const zipped = gzipSync('raw');
    server.setHandler((req, res) => {
      res.writeHead(200, {
        'content-encoding': 'gzip',
        'x-asked': String(req.headers['accept-encoding'] ?? 'none'),
      });
      res.end(zipped);
    });
    const raw = createHttpClient({ transport, decompress: false });
    try {
      const response = await raw.get(`${server.origin}/gz`);
      expect(response.headers['x-asked']).toBe('none');
      expect(Buffer.from(response.body).equals(zipped)).toBe(true);
    } finally {
      await raw.close();
    }
  });

  it('reads no body for HEAD, whatever length the head declares', async () => {
    server.setHandler((_req, res) => {
      res.writeHead(200, { 'content-length': '5000000' });
      res.end();
    });
    const response = await client.request({ method: 'HEAD', url: '/big', maxResponseBytes: 100 });
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(0);
  });

  it('returns a 304 or 204 that declares a Content-Length once, with no body, read whole or streamed', async () => {
    // HTTP allows it (the length the representation would have); neither status has a body.
    server.setHandler((req, res) => {
      res.writeHead(req.url?.endsWith('/304') ? 304 : 204, { 'content-length': '1234', etag: '"v1"' });
      res.end();
    });
    for (const status of [304, 204]) {
      server.requests.length = 0;
      const read = await client.get(`/${status}`, { headers: { 'if-none-match': '"v1"' } });
      expect([read.status, read.body.byteLength]).toEqual([status, 0]);
      const streamed = await client.stream({ url: `/${status}` });
      expect([streamed.status, (await readAll(streamed.body)).length]).toEqual([status, 0]);
      // Not retried: one request each.
      expect(server.requests).toHaveLength(2);
    }
    expect((await client.health()).status).toBe('up');
  });

  it('fails with ConnectionError when the body is cut off', async () => {
    server.setHandler((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only ten..');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const error = await rejectionOf(client.get('/cut', { retry: false }));
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect(error.message).toContain(`[voelgoed:http] GET ${server.origin}/api/cut failed`);
  });

  it('rejects 4xx/5xx with HttpStatusError holding status and a body excerpt, unless told not to', async () => {
    server.setHandler(faults.json(404, { error: 'missing' }));
    const error = await rejectionOf(client.get('/missing'));
    expect(isInfrastructureError(error, 'HTTP_STATUS')).toBe(true);
    expect(error.status).toBe(404);
    expect(error.message).toBe(`[voelgoed:http] GET ${server.origin}/api/missing responded 404`);
    const response = error.response as { body: Uint8Array };
    expect(Buffer.from(response.body).toString()).toBe('{"error":"missing"}');
    const ok = await client.get('/missing', { throwHttpErrors: false });
    expect(ok.status).toBe(404);
  });

  it('bounds the body excerpt of an HttpStatusError', async () => {
    server.setHandler((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('x'.repeat(100_000));
    });
    const error = await rejectionOf(client.get('/big-error', { retry: false }));
    expect((error.response as { body: Uint8Array }).body.byteLength).toBe(4096);
  });

  it('rejects malformed URLs and bad options with InvalidArgumentError, before any request', async () => {
    const bare = createHttpClient({ transport });
    for (const promise of [
      bare.get('not a url'),
      bare.get('/relative-without-base'),
      bare.get('ftp://example.com/file'),
      bare.get(''),
      bare.get(`${server.origin}/x`, { timeoutMs: -1 }),
      bare.get(`${server.origin}/x`, { deadlineMs: Number.NaN }),
      bare.post(`${server.origin}/x`, { json: {}, body: 'both' }),
      bare.request({ method: 'BREW' as 'GET', url: `${server.origin}/x` }),
    ]) {
      const error = await rejectionOf(promise);
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect(error.message.startsWith('[voelgoed:http] ')).toBe(true);
    }
    expect(() => createHttpClient({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => createHttpClient({ baseUrl: 'nope' })).toThrow(/baseUrl/);
    expect(() => createHttpClient({ retry: { limit: -1 } })).toThrow(/retry.limit/);
    expect(() => createHttpClient({ circuitBreaker: { failureRatio: 2 } })).toThrow(/failureRatio/);
    expect(server.requests).toHaveLength(0);
    await bare.close();
  });

  it('json() on a non-JSON body throws InvalidArgumentError', async () => {
    server.setHandler((_req, res) => {
      res.end('<html>');
    });
    const response = await client.get('/html');
    expect(() => response.json()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('aborts with AbortedError when the caller’s signal fires', async () => {
    server.setHandler(faults.hang());
    const controller = new AbortController();
    const pending = client.get('/hang', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await rejectionOf(pending);
    expect(isInfrastructureError(error, 'ABORTED')).toBe(true);
    const already = await rejectionOf(client.get('/hang', { signal: AbortSignal.abort() }));
    expect(isInfrastructureError(already, 'ABORTED')).toBe(true);
  });

  it('fails with ConnectionError when nothing listens', async () => {
    const other = await startHttpServer();
    const origin = other.origin;
    await other.stop();
    const error = await rejectionOf(client.get(`${origin}/gone`, { retry: false }));
    expect(isInfrastructureError(error, 'CONNECTION')).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.message.startsWith(`[voelgoed:http] GET ${origin}/gone failed`)).toBe(true);
  });

  it('publishes one request event per attempt with origin and route, never the path or query', async () => {
    server.setHandler(faults.statusSequence([503, 200]));
    const recorder = recordEvents(Channels.httpRequest);
    try {
      await client.get('/charges/ch_123?secret=s3cr3t', {
        route: '/charges/:id',
        retry: { limit: 1, maxDelayMs: 1 },
      });
    } finally {
      recorder.stop();
    }
    const mine = recorder.events.filter((e) => e.origin === server.origin);
    expect(mine.map((e) => [e.attempt, e.status, e.outcome])).toEqual([
      [1, 503, 'error'],
      [2, 200, 'ok'],
    ]);
    expect(mine[0]).toMatchObject({ method: 'GET', origin: server.origin, route: '/charges/:id' });
    expect(JSON.stringify(mine)).not.toMatch(/ch_123|s3cr3t/);
  });
});
