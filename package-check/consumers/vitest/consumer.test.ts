// Runs in a consumer project under Vitest with its default configuration (no config file):
// TypeScript test files, packages loaded through `import` and their ESM builds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInfrastructureError } from '@voelgoed/contracts';
import { describeRateLimiter } from '@voelgoed/contracts/conformance';
import { ManualClock, MemoryKeyValueStore, MemoryRateLimiter } from '@voelgoed/contracts/memory';
import { createHttpClient } from '@voelgoed/http';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const entries: string[] = JSON.parse(process.env.VOELGOED_ENTRIES ?? '[]');

describe('every @voelgoed entry point', () => {
  it('has entries to load', () => expect(entries.length).toBeGreaterThan(0));
  it.each(entries)('%s loads through import', async (entry) => {
    const loaded = await import(entry);
    expect(Object.keys(loaded).length).toBeGreaterThan(0);
  });
});

describe('business code on the memory twins', () => {
  it('MemoryRateLimiter allows the burst, then denies with a retry time', async () => {
    const limiter = new MemoryRateLimiter({ limit: 2, periodMs: 60_000, clock: new ManualClock() });
    expect((await limiter.consume('user-1')).allowed).toBe(true);
    expect((await limiter.consume('user-1')).allowed).toBe(true);
    const denied = await limiter.consume('user-1');
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
  });

  it('MemoryKeyValueStore rejects bad input with a typed error', async () => {
    const kv = new MemoryKeyValueStore();
    await kv.set('seat:1', 'held');
    expect(await kv.get('seat:1')).toBe('held');
    const error = await kv.set('', 'x').catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});

// The conformance suite on Vitest's own functions (no globals in Vitest's default config).
describeRateLimiter('MemoryRateLimiter', (settings) => new MemoryRateLimiter(settings), {
  runner: { describe, it, beforeEach, afterEach },
});

describe('the real adapters', () => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
  });
  beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('@voelgoed/http calls a local node:http server', async () => {
    const { port } = server.address() as AddressInfo;
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}` });
    try {
      const response = await client.get('/seats', { query: { show: 7 } });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ path: '/seats?show=7' });
    } finally {
      await client.close();
    }
  });

  it('@voelgoed/redis round-trips through the redis-server in REDIS_URL', async () => {
    const client = createRedisClient({ url: process.env.REDIS_URL });
    try {
      const kv = createRedisKeyValueStore(client);
      await kv.set('consumer:vitest', 'hello', { ttlMs: 60_000 });
      expect(await kv.get('consumer:vitest')).toBe('hello');
    } finally {
      await client.close();
    }
  });
});
