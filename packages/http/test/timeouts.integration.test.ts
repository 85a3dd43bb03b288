import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient, HttpTimeoutError } from '../src/index.js';
import { rejectionOf, TRANSPORTS } from './helpers.js';

describe.each(TRANSPORTS)('timeouts over %s', (transport) => {
  let server: HttpServer;
  let silent: net.Server;
  let silentPort: number;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    server = await startHttpServer();
    // Accepts TCP but never speaks: a TLS handshake to it never completes (a slow connect).
    silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    await server.stop();
  });

  it('times out connecting (phase connect, not executed)', async () => {
    const client = createHttpClient({ transport, connectTimeoutMs: 150, retry: false });
    try {
      const error = await rejectionOf(client.get(`https://127.0.0.1:${silentPort}/x`));
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error.phase).toBe('connect');
      expect(error.maybeExecuted).toBe(false);
      expect(error.message).toBe(
        `[voelgoed:http] GET https://127.0.0.1:${silentPort}/x timed out connecting`,
      );
    } finally {
      await client.close();
    }
  });

  it('times out waiting for response headers (phase headers)', async () => {
    server.setHandler(faults.delay(2_000, faults.json(200, {})));
    // 1 s, not 150 ms: the request must be connected and sent when it fires (a loaded machine can
    // hold the connect past 150 ms: phase connect). It fires before the 2 s answer all the same.
    const client = createHttpClient({ transport, timeoutMs: 1_000, retry: false });
    try {
      const error = await rejectionOf(client.get(`${server.origin}/slow-head`));
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error.phase).toBe('headers');
      expect(isInfrastructureError(error, 'TIMEOUT')).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('has a separate, shorter headers timeout', async () => {
    server.setHandler(faults.delay(2_000, faults.json(200, {})));
    const client = createHttpClient({ transport, timeoutMs: 10_000, headersTimeoutMs: 150, retry: false });
    try {
      const error = await rejectionOf(client.get(`${server.origin}/slow-head`));
      expect(error.phase).toBe('headers');
      expect(error.message).toContain('after 150 ms waiting for response headers');
    } finally {
      await client.close();
    }
  });

  it("waits for the head as long as a request's own timeoutMs; only a set headersTimeoutMs caps it", async () => {
    // Answered well after the client's timeoutMs, well within the request's.
    server.setHandler(faults.delay(400, faults.json(200, { ok: 1 })));
    const client = createHttpClient({ transport, timeoutMs: 100, retry: false });
    const capped = createHttpClient({ transport, timeoutMs: 100, headersTimeoutMs: 150, retry: false });
    try {
      const response = await client.get(`${server.origin}/slow-report`, { timeoutMs: 30_000 });
      expect(response.json()).toEqual({ ok: 1 });

      server.setHandler(faults.delay(2_000, faults.json(200, {})));
      const error = await rejectionOf(capped.get(`${server.origin}/slow-head`, { timeoutMs: 30_000 }));
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error.phase).toBe('headers');
      expect(error.message).toContain('after 150 ms waiting for response headers');
    } finally {
      await client.close();
      await capped.close();
    }
  });

  it('times out a slow body (phase request)', async () => {
    server.setHandler(faults.slowBody(['a', 'b', 'c', 'd', 'e'], 1000));
    // The headers come at once and the body takes 4 s: a timeout of 2 s ends it in the body
    // (phase request), with room for a loaded machine's stall before the headers are read.
    const client = createHttpClient({ transport, timeoutMs: 2000, retry: false });
    try {
      const error = await rejectionOf(client.get(`${server.origin}/slow-body`));
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error.phase).toBe('request');
    } finally {
      await client.close();
    }
  });

  it('times out a request still waiting for a pooled connection, and never sends it', async () => {
    server.requests.length = 0;
    server.setHandler((req, res) => {
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url }));
      };
      if (req.url === '/busy') setTimeout(answer, 400);
      else answer();
    });
    const client = createHttpClient({
      transport,
      maxSocketsPerOrigin: 1,
      bulkhead: false,
      retry: false,
    });
    try {
      const busy = client.get(`${server.origin}/busy`);
      const error = await rejectionOf(client.get(`${server.origin}/queued`, { timeoutMs: 100 }));
      expect(error).toBeInstanceOf(HttpTimeoutError);
      expect(error.phase).toBe('headers');
      expect((await busy).json()).toEqual({ url: '/busy' });
      // The one connection serves requests in order: a late /queued would come before /after.
      expect((await client.get(`${server.origin}/after`)).json()).toEqual({ url: '/after' });
      expect(server.requests.map((r) => r.url)).toEqual(['/busy', '/after']);
    } finally {
      await client.close();
    }
  });

  it('retries an idempotent request that timed out, each attempt with its own timeout', async () => {
    server.requests.length = 0;
    server.setHandler(faults.sequence([faults.hang(), faults.json(200, { ok: 1 })]));
    // Not shorter: the second attempt must be answered within it, and a loaded machine's
    // event-loop stall (up to ~0.5 s in full runs) would time that one out too.
    const client = createHttpClient({ transport, timeoutMs: 2000, retry: { limit: 1, baseDelayMs: 1 } });
    try {
      const response = await client.get(`${server.origin}/t`);
      expect(response.attempts).toBe(2);
      expect(response.json()).toEqual({ ok: 1 });
    } finally {
      await client.close();
    }
  });
});
