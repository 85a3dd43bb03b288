// Runs in a consumer project under node:test (`node --test`): packages loaded through `import`
// and their ESM builds.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { isInfrastructureError } from '@voelgoed/contracts';
import { describeRateLimiter } from '@voelgoed/contracts/conformance';
import { ManualClock, MemoryKeyValueStore, MemoryRateLimiter } from '@voelgoed/contracts/memory';
import { createHttpClient } from '@voelgoed/http';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';

const entries = JSON.parse(process.env.VOELGOED_ENTRIES ?? '[]');

describe('every @voelgoed entry point', () => {
  it('has entries to load', () => assert.ok(entries.length > 0));
  for (const entry of entries) {
    it(`${entry} loads through import`, async () => {
      const loaded = await import(entry);
      assert.ok(Object.keys(loaded).length > 0);
    });
  }
});

describe('business code on the memory twins', () => {
  it('MemoryRateLimiter allows the burst, then denies with a retry time', async () => {
    const limiter = new MemoryRateLimiter({ limit: 2, periodMs: 60_000, clock: new ManualClock() });
    assert.equal((await limiter.consume('user-1')).allowed, true);
    assert.equal((await limiter.consume('user-1')).allowed, true);
    const denied = await limiter.consume('user-1');
    assert.equal(denied.allowed, false);
    assert.ok(denied.retryAfterMs > 0);
  });

  it('MemoryKeyValueStore rejects bad input with a typed error', async () => {
    const kv = new MemoryKeyValueStore();
    await kv.set('seat:1', 'held');
    assert.equal(await kv.get('seat:1'), 'held');
    const error = await kv.set('', 'x').catch((e) => e);
    assert.ok(isInfrastructureError(error, 'INVALID_ARGUMENT'));
  });
});

// The conformance suite on node:test's functions.
describeRateLimiter('MemoryRateLimiter', (settings) => new MemoryRateLimiter(settings), {
  runner: { describe, it, beforeEach, afterEach },
});

describe('the real adapters', () => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
  });
  before(() => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  after(() => new Promise((resolve) => server.close(resolve)));

  it('@voelgoed/http calls a local node:http server', async () => {
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${server.address().port}` });
    try {
      const response = await client.get('/seats', { query: { show: 7 } });
      assert.equal(response.status, 200);
      assert.deepEqual(response.json(), { path: '/seats?show=7' });
    } finally {
      await client.close();
    }
  });

  it('@voelgoed/redis round-trips through the redis-server in REDIS_URL', async () => {
    const client = createRedisClient({ url: process.env.REDIS_URL });
    try {
      const kv = createRedisKeyValueStore(client);
      await kv.set('consumer:node-test', 'hello', { ttlMs: 60_000 });
      assert.equal(await kv.get('consumer:node-test'), 'hello');
    } finally {
      await client.close();
    }
  });
});
