import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeCache, describeExpiringSet, describeRateLimiter } from '@voelgoed/contracts/conformance';
import { startRedis, startRedisCluster, stopAll } from '@voelgoed/testkit';
import { ExpiringSet } from '../src/expiring-set.js';
import { createRedisClient, type RedisClient } from '../src/index.js';
import { RateLimiter } from '../src/rate-limiter.js';
import { TieredCache } from '../src/tiered-cache.js';

// The contracts' suites for the three primitives, on a standalone server and on a Cluster. One
// client per deployment for the whole file; every limiter, set and cache gets keys of its own.
let standalone: RedisClient;
let cluster: RedisClient;

beforeAll(async () => {
  const [server, nodes] = await Promise.all([startRedis(), startRedisCluster()]);
  standalone = createRedisClient({ url: server.url });
  cluster = createRedisClient({ cluster: { nodes: nodes.seeds.slice(0, 1) } });
  await Promise.all([standalone.ready(), cluster.ready()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([standalone?.close(), cluster?.close()]);
  await stopAll();
});

for (const [where, client] of [
  ['a standalone server', () => standalone],
  ['a Cluster', () => cluster],
] as const) {
  describeRateLimiter(
    `RateLimiter on ${where}`,
    (settings) => new RateLimiter(client(), { ...settings, keyPrefix: `rl:${randomUUID()}:` }),
  );
  describeExpiringSet(`ExpiringSet on ${where}`, () => new ExpiringSet(client(), `set:${randomUUID()}`));
  describeCache(
    `TieredCache on ${where}`,
    () => new TieredCache<unknown>(client(), { namespace: randomUUID() }),
    {
      teardown: (cache) => cache.close(),
    },
  );
}

describe('the primitives, beyond the suites', () => {
  it('TieredCache gives the decoded value from L1 too, and rounds a fractional TTL up to whole ms', async () => {
    const namespace = randomUUID();
    const cache = new TieredCache<{ at: unknown }>(standalone, { namespace });
    try {
      // A minute and half a ms: a 1.5 s TTL could run out in one stall of a loaded machine.
      await cache.set('d', { at: new Date(0) }, 60_000.5);
      expect(cache.hasLocal('d')).toBe(true);
      expect(await cache.get('d')).toEqual({ at: '1970-01-01T00:00:00.000Z' });
      const pttl = Number(await standalone.command(['PTTL', `${namespace}:d`]));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(60_001);
    } finally {
      await cache.close();
    }
  });

  it('RateLimiter stores the arrival time exactly (whole ms:1/limit ms), and reads an older float one rounded up', async () => {
    const prefix = `rl:${randomUUID()}:`;
    const limiter = new RateLimiter(standalone, { limit: 3, periodMs: 1000, keyPrefix: prefix });
    await limiter.consume('s');
    const [ms, units] = String(await standalone.command(['GET', `${prefix}s`])).split(':');
    expect(Number(ms) % 1).toBe(0);
    expect(Number(ms)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(units)).toBe(1); // 333⅓ ms past now: 333 ms and 1 of 3 thirds
    // What the version before wrote: a float TAT (an hour ahead: far past the whole allowance).
    await standalone.command([
      'SET',
      `${prefix}old`,
      String(Date.now() + 3_600_000 + 0.123456789),
      'PX',
      3_600_000,
    ]);
    const denied = await limiter.consume('old');
    expect(denied).toMatchObject({ allowed: false, remaining: 0 });
    expect(denied.resetMs).toBeGreaterThan(3_000_000);
  });

  it('refuses a non-object options, a non-string keyPrefix or a key with a lone surrogate with INVALID_ARGUMENT', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    expect(() => new RateLimiter(standalone, null as never)).toThrow(invalid);
    expect(() => new RateLimiter(standalone, { limit: 1, periodMs: 1, keyPrefix: 5 as never })).toThrow(
      invalid,
    );
    expect(() => new TieredCache(standalone, { namespace: 'n', loader: 'x' as never })).toThrow(invalid);
    // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'rl\uD800:' would share 'rl\uFFFD:''s keys.
    expect(() => new RateLimiter(standalone, { limit: 1, periodMs: 1, keyPrefix: 'rl\uD800:' })).toThrow(
      invalid,
    );
    expect(() => new ExpiringSet(standalone, 'holds\uD800')).toThrow(invalid);
    expect(() => new ExpiringSet(standalone, 'k', null as never)).toThrow(invalid);
    expect(() => new ExpiringSet(standalone, 'k', 'ttl' as never)).toThrow(invalid);
  });
});
