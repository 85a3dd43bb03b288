// Runs in a consumer project under Jest 30 with its default configuration: no config file, no
// NODE_OPTIONS. Test files are CommonJS there, so every package loads through `require` and its
// CommonJS build. Jest's globals (describe, it, expect) are used as a Jest user would.
const http = require('node:http');
const { describeRateLimiter } = require('@voelgoed/contracts/conformance');
const { MemoryRateLimiter } = require('@voelgoed/contracts/memory');

const entries = JSON.parse(process.env.VOELGOED_ENTRIES ?? '[]');

describe('every @voelgoed entry point', () => {
  it.each(entries)('%s loads through require', (entry) => {
    const loaded = require(entry);
    expect(Object.keys(loaded).length).toBeGreaterThan(0);
  });
});

describe('business code on the memory twins', () => {
  it('MemoryRateLimiter allows the burst, then denies with a retry time', async () => {
    const { ManualClock } = require('@voelgoed/contracts/memory');
    const limiter = new MemoryRateLimiter({ limit: 2, periodMs: 60_000, clock: new ManualClock() });
    expect((await limiter.consume('user-1')).allowed).toBe(true);
    expect((await limiter.consume('user-1')).allowed).toBe(true);
    const denied = await limiter.consume('user-1');
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(0);
  });

  it('MemoryKeyValueStore rejects bad input with a typed error', async () => {
    const { MemoryKeyValueStore } = require('@voelgoed/contracts/memory');
    const { isInfrastructureError } = require('@voelgoed/contracts');
    const kv = new MemoryKeyValueStore();
    await kv.set('seat:1', 'held');
    expect(await kv.get('seat:1')).toBe('held');
    const error = await kv.set('', 'x').catch((e) => e);
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
  });
});

// The conformance suite on Jest's globals (no `runner` option needed under Jest).
describeRateLimiter('MemoryRateLimiter', (settings) => new MemoryRateLimiter(settings));

describe('the real adapters', () => {
  let server;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('@voelgoed/http calls a local node:http server', async () => {
    const { createHttpClient } = require('@voelgoed/http');
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${server.address().port}` });
    try {
      const response = await client.get('/seats', { query: { show: 7 } });
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ path: '/seats?show=7' });
    } finally {
      await client.close();
    }
  });

  it('@voelgoed/redis round-trips through the redis-server in REDIS_URL', async () => {
    const { createRedisClient, createRedisKeyValueStore } = require('@voelgoed/redis');
    const client = createRedisClient({ url: process.env.REDIS_URL });
    try {
      const kv = createRedisKeyValueStore(client);
      await kv.set('consumer:jest', 'hello', { ttlMs: 60_000 });
      expect(await kv.get('consumer:jest')).toBe('hello');
    } finally {
      await client.close();
    }
  });
});
