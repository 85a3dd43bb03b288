import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, CircuitOpenError, isInfrastructureError } from '@voelgoed/contracts';
import { faults, type HttpServer, startHttpServer } from '@voelgoed/testkit';
import { createHttpClient } from '../src/index.js';
import { recordEvents, rejectionOf, TRANSPORTS } from './helpers.js';

describe.each(TRANSPORTS)('circuit breaker and bulkhead over %s', (transport) => {
  let server: HttpServer;

  beforeAll(async () => {
    server = await startHttpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('goes closed → open → half-open → open → half-open → closed, failing fast while open', async () => {
    server.requests.length = 0;
    server.setHandler(faults.statusSequence([500]));
    const client = createHttpClient({
      transport,
      retry: false,
      // Open for 2 s: the checks that it is open (and fails fast) must come before it half-opens,
      // which a loaded machine's event-loop stall (up to ~0.5 s in full runs) must not outlast.
      circuitBreaker: { consecutiveFailures: 3, openMs: 2000, halfOpenProbes: 1 },
    });
    const recorder = recordEvents(Channels.httpCircuit);
    /** Waits until the open circuit half-opens (after openMs). */
    const halfOpen = async () => {
      while (client.circuitState(server.origin) === 'open') await new Promise((r) => setTimeout(r, 20));
    };
    try {
      const url = `${server.origin}/breaker`;
      for (let i = 0; i < 3; i++) expect((await rejectionOf(client.get(url))).status).toBe(500);
      expect(client.circuitState(server.origin)).toBe('open');
      const open = await rejectionOf(client.get(url));
      expect(open).toBeInstanceOf(CircuitOpenError);
      expect(open.retryable).toBe(true);
      expect(open.target).toBe(server.origin);
      expect(server.requests).toHaveLength(3);

      await halfOpen();
      expect(client.circuitState(server.origin)).toBe('half_open');
      // The probe fails: open again.
      expect((await rejectionOf(client.get(url))).status).toBe(500);
      expect(client.circuitState(server.origin)).toBe('open');

      await halfOpen();
      server.setHandler(faults.delay(100, faults.json(200, { ok: true })));
      // One probe at a time: a second call while the probe is out fails fast.
      const probe = client.get(url);
      const second = await rejectionOf(client.get(url));
      expect(isInfrastructureError(second, 'CIRCUIT_OPEN')).toBe(true);
      expect((await probe).status).toBe(200);
      expect(client.circuitState(server.origin)).toBe('closed');
      expect((await client.get(url)).status).toBe(200);

      const mine = recorder.events.filter((e) => e.origin === server.origin).map((e) => `${e.from}>${e.to}`);
      expect(mine).toEqual([
        'closed>open',
        'open>half_open',
        'half_open>open',
        'open>half_open',
        'half_open>closed',
      ]);
    } finally {
      recorder.stop();
      await client.close();
    }
  });

  it('opens on the failure ratio over its window', async () => {
    server.setHandler(faults.statusSequence([200, 503, 200, 503]));
    const client = createHttpClient({
      transport,
      retry: false,
      circuitBreaker: { consecutiveFailures: 100, failureRatio: 0.5, minimumCalls: 4, openMs: 60_000 },
    });
    try {
      const url = `${server.origin}/ratio`;
      for (let i = 0; i < 4; i++) await client.get(url, { throwHttpErrors: false });
      expect(client.circuitState(server.origin)).toBe('open');
      expect(await rejectionOf(client.get(url))).toBeInstanceOf(CircuitOpenError);
    } finally {
      await client.close();
    }
  });

  it('does not retry into an open circuit', async () => {
    server.requests.length = 0;
    server.setHandler(faults.statusSequence([503]));
    const client = createHttpClient({
      transport,
      retry: { limit: 10, baseDelayMs: 1 },
      retryBudget: false,
      circuitBreaker: { consecutiveFailures: 2, openMs: 60_000 },
    });
    try {
      const error = await rejectionOf(client.get(`${server.origin}/x`));
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(server.requests).toHaveLength(2);
    } finally {
      await client.close();
    }
  });

  it('limits concurrency per origin and fails fast when the queue is full', async () => {
    server.requests.length = 0;
    server.setHandler(faults.delay(150, faults.json(200, {})));
    const client = createHttpClient({
      transport,
      bulkhead: { maxConcurrent: 2, maxQueued: 1 },
      retry: false,
    });
    const recorder = recordEvents(Channels.httpBulkhead);
    try {
      const url = `${server.origin}/bulk`;
      const inFlight = [client.get(url), client.get(url), client.get(url)];
      const overflow = await rejectionOf(client.get(url));
      expect(isInfrastructureError(overflow, 'RATE_LIMITED')).toBe(true);
      expect(overflow.message).toContain('2 in flight and 1 queued');
      const results = await Promise.all(inFlight);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(server.requests).toHaveLength(3);
      const mine = recorder.events.filter((e) => e.origin === server.origin).map((e) => e.event);
      expect(mine).toEqual(['queued', 'rejected', 'dequeued']);
    } finally {
      recorder.stop();
      await client.close();
    }
  });

  it('holds a streamed response’s slot until its body closes', async () => {
    server.setHandler(faults.json(200, { streamed: true }));
    const client = createHttpClient({ transport, bulkhead: { maxConcurrent: 1, maxQueued: 0 } });
    try {
      const url = `${server.origin}/s`;
      const first = await client.stream({ url });
      expect(isInfrastructureError(await rejectionOf(client.get(url)), 'RATE_LIMITED')).toBe(true);
      for await (const _ of first.body) {
        // drain
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect((await client.get(url)).status).toBe(200);
    } finally {
      await client.close();
    }
  });
});
