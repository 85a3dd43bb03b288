import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError, PayloadTooLargeError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient, isHttpError } from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

const SECRET = 'sk_live_TOPSECRET_4242';

describe.each(TRANSPORTS)('limits, redirects and redaction over %s', (transport) => {
  let server: HttpServer;
  let other: HttpServer;

  beforeAll(async () => {
    server = await startHttpServer();
    other = await startHttpServer();
  });
  afterAll(async () => {
    await server.stop();
    await other.stop();
  });

  it('fails with PayloadTooLargeError past maxResponseBytes (declared or streamed, after decompression)', async () => {
    const client = createHttpClient({ transport, maxResponseBytes: 1000 });
    try {
      server.setHandler((_req, res) => {
        res.end('x'.repeat(1001));
      });
      const declared = await rejectionOf(client.get(`${server.origin}/big`));
      expect(declared).toBeInstanceOf(PayloadTooLargeError);
      expect(declared.limit).toBe(1000);
      server.setHandler(faults.slowBody(['x'.repeat(600), 'x'.repeat(600)], 10));
      expect(await rejectionOf(client.get(`${server.origin}/chunked`))).toBeInstanceOf(PayloadTooLargeError);
      const { gzipSync } = await import('node:zlib');
      server.setHandler((_req, res) => {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gzipSync('y'.repeat(50_000)));
      });
      expect(await rejectionOf(client.get(`${server.origin}/bomb`))).toBeInstanceOf(PayloadTooLargeError);
      server.setHandler((_req, res) => {
        res.end('x'.repeat(1000));
      });
      expect((await client.get(`${server.origin}/exact`)).body.byteLength).toBe(1000);
      server.setHandler(faults.slowBody(['x'.repeat(8), 'x'.repeat(8)], 10));
      const streamError = await rejectionOf(
        (async () => {
          const stream = await client.stream({ url: `${server.origin}/chunked`, maxResponseBytes: 10 });
          for await (const _ of stream.body) {
            // drain
          }
        })(),
      );
      expect(streamError).toBeInstanceOf(PayloadTooLargeError);
    } finally {
      await client.close();
    }
  });

  it('does not follow redirects unless asked', async () => {
    server.setHandler(faults.json(302, {}, { location: '/elsewhere' }));
    const client = createHttpClient({ transport });
    try {
      const response = await client.get(`${server.origin}/r`);
      expect(response.status).toBe(302);
      expect(response.headers.location).toBe('/elsewhere');
    } finally {
      await client.close();
    }
  });

  it('follows redirects when asked, dropping credentials on a change of origin', async () => {
    other.requests.length = 0;
    server.requests.length = 0;
    other.setHandler((req, res) => {
      res.end(`landed ${req.url}`);
    });
    server.setHandler((req, res) => {
      if (req.url === '/start') {
        res.writeHead(301, { location: '/same-origin' });
        res.end();
      } else {
        res.writeHead(307, { location: `${other.origin}/cross?x=1` });
        res.end();
      }
    });
    const client = createHttpClient({ transport, followRedirects: true, sensitiveHeaders: ['x-shop-key'] });
    try {
      const response = await client.get(`${server.origin}/start`, {
        headers: {
          authorization: `Bearer ${SECRET}`,
          cookie: 'session=1',
          'x-shop-key': SECRET,
          'x-plain': 'kept',
        },
      });
      expect(response.text()).toBe('landed /cross?x=1');
      expect(response.url).toBe(`${other.origin}/cross?x=1`);
      // Same origin: credentials kept.
      expect(server.requests.map((r) => r.headers.authorization)).toEqual([
        `Bearer ${SECRET}`,
        `Bearer ${SECRET}`,
      ]);
      const landed = other.requests[0]!;
      expect(landed.headers.authorization).toBeUndefined();
      expect(landed.headers.cookie).toBeUndefined();
      expect(landed.headers['x-shop-key']).toBeUndefined();
      expect(landed.headers['x-plain']).toBe('kept');
    } finally {
      await client.close();
    }
  });

  it('turns a redirected POST into a GET on 303 and stops after maxRedirects', async () => {
    server.requests.length = 0;
    server.setHandler((req, res) => {
      if (req.url === '/form') {
        res.writeHead(303, { location: '/result' });
        res.end();
      } else if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' });
        res.end();
      } else res.end(`${req.method} ${req.url}`);
    });
    const client = createHttpClient({ transport, followRedirects: true, maxRedirects: 3 });
    try {
      expect((await client.post(`${server.origin}/form`, { json: { a: 1 } })).text()).toBe('GET /result');
      const error = await rejectionOf(client.get(`${server.origin}/loop`));
      expect(isHttpError(error, 'TOO_MANY_REDIRECTS')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('never shows a secret header, secret query parameter or userinfo in errors or events', async () => {
    const client = createHttpClient({
      transport,
      retry: { limit: 1, baseDelayMs: 1 },
      sensitiveHeaders: ['x-shop-key'],
    });
    const events: unknown[] = [];
    const recorders = [Channels.httpRequest, Channels.httpRetry].map((c) => recordEvents(c));
    try {
      server.setHandler((_req, res) => {
        res.writeHead(503, { 'set-cookie': `session=${SECRET}`, 'content-type': 'text/plain' });
        res.end('unavailable');
      });
      const closed = await startHttpServer();
      const closedOrigin = closed.origin;
      await closed.stop();
      const failures = [
        () =>
          client.get(`${server.origin}/pay?api_key=${SECRET}&token=${SECRET}`, {
            headers: { authorization: `Bearer ${SECRET}`, 'x-shop-key': SECRET, cookie: `c=${SECRET}` },
          }),
        () => client.get(`http://user:${SECRET}@127.0.0.1:${new URL(closedOrigin).port}/x?key=${SECRET}`),
        () =>
          client.get(`${server.origin}/t?sig=${SECRET}`, {
            timeoutMs: 1,
            headers: { authorization: SECRET },
          }),
      ];
      for (const failure of failures) {
        const error = await rejectionOf(failure());
        expect(isInfrastructureError(error)).toBe(true);
        const shown = `${error.message}\n${error.stack}\n${inspect(error, { depth: 10, showHidden: true })}\n${JSON.stringify(error)}`;
        expect(shown).not.toContain(SECRET);
      }
    } finally {
      for (const r of recorders) {
        r.stop();
        events.push(...r.events);
      }
      await client.close();
    }
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain(SECRET);
  });

  it('turns URL userinfo into a Basic Authorization header', async () => {
    server.requests.length = 0;
    server.setHandler(faults.json(200, {}));
    const client = createHttpClient({ transport });
    try {
      const response = await client.get(`http://alice:pw@127.0.0.1:${server.port}/basic`);
      expect(response.url).toBe(`${server.origin}/basic`);
      expect(server.requests.find((r) => r.url === '/basic')?.headers.authorization).toBe(
        `Basic ${Buffer.from('alice:pw').toString('base64')}`,
      );
    } finally {
      await client.close();
    }
  });

  it('refuses addresses the address filter rejects, for IP literals and for resolved names', async () => {
    server.requests.length = 0;
    const client = createHttpClient({
      transport,
      addressFilter: (address) => !address.startsWith('127.'),
      retry: false,
    });
    try {
      for (const url of [`${server.origin}/literal`, `http://localhost:${server.port}/named`]) {
        const error = await rejectionOf(client.get(url));
        expect(isHttpError(error, 'FORBIDDEN_TARGET')).toBe(true);
      }
      expect(server.requests).toHaveLength(0);
    } finally {
      await client.close();
    }
  });
});
