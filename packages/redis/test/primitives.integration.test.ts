import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, sleep, startRedis, stopAll } from '@voelgoed/testkit';
import { ExpiringSet } from '../src/expiring-set.js';
import { createRedisClient, defineScript, type RedisClient, RedisKeyValueStore } from '../src/index.js';
import { RateLimiter } from '../src/rate-limiter.js';
import { TieredCache } from '../src/tiered-cache.js';

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient(server.url);
  await client.ready();
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('defineScript', () => {
  it('runs by EVALSHA and reloads itself after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const incrBy = defineScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1);
    expect(await incrBy.run(client, ['script:n'], [2])).toBe(2);
    await client.command(['SCRIPT', 'FLUSH']);
    expect(await incrBy.run(client, ['script:n'], [3])).toBe(5);
    expect(await client.command(['SCRIPT', 'EXISTS', incrBy.sha1])).toEqual([1]);
    await expect(incrBy.run(client, [], [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('ExpiringSet', () => {
  it('adds members with a TTL, lists and counts only live ones, and purges expired ones', async () => {
    const set = new ExpiringSet(client, 'holds:a');
    expect(await set.add('seat-1', 60_000)).toBe(true);
    expect(await set.add('seat-2', 60_000)).toBe(true);
    expect(await set.add('seat-1', 60_000)).toBe(false); // renewed, was live already
    expect(await set.count()).toBe(2);
    // Shortened only now, so a slow machine cannot expire it before the count above.
    expect(await set.refresh('seat-2', 1)).toBe(true);
    await sleep(20);
    expect(await set.has('seat-2')).toBe(false);
    expect(await set.members()).toEqual(['seat-1']);
    expect(await set.count()).toBe(1);
    expect(await set.purge()).toBe(1);
    expect(await client.command(['ZCARD', 'holds:a'])).toBe(1);
  });

  it('tryAdd only adds absent members; refresh only renews live ones; remove removes', async () => {
    const set = new ExpiringSet(client, 'holds:b');
    expect(await set.tryAdd('m', 60_000)).toBe(true);
    expect(await set.tryAdd('m', 60_000)).toBe(false);
    expect(await set.refresh('m', 120_000)).toBe(true);
    expect(await set.ttl('m')).toBeGreaterThan(60_000);
    expect(await set.refresh('absent', 1000)).toBe(false);
    expect(await set.remove('m')).toBe(true);
    expect(await set.has('m')).toBe(false);
  });

  it('lets exactly one of many concurrent tryAdd calls win a member', async () => {
    const set = new ExpiringSet(client, 'holds:race');
    const wins = await Promise.all(Array.from({ length: 50 }, () => set.tryAdd('contested', 10_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });

  it('expires its own key with its last member', async () => {
    const set = new ExpiringSet(client, 'holds:c');
    await set.add('x', 5000);
    const pttl = Number(await client.command(['PTTL', 'holds:c']));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(5000);
  });

  it('rejects bad input with INVALID_ARGUMENT', async () => {
    const set = new ExpiringSet(client, 'holds:d');
    await expect(set.add('', 1000)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(set.add('m', ttl)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(() => new ExpiringSet(client, '')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('RateLimiter', () => {
  it('allows `limit` requests in a burst, then denies with a retry-after', async () => {
    // An emission interval of 12 s: no stall of a loaded machine between the 7 calls refills one.
    const limiter = new RateLimiter(client, { limit: 5, periodMs: 60_000, keyPrefix: 'rl:' });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await limiter.consume('user-1'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(results.slice(0, 5).map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(results[5]!.retryAfterMs).toBeGreaterThan(0);
    // Not a timing check: GCRA computes retry-after, and it can never exceed one emission
    // interval (periodMs / limit = 12,000 ms) after a burst of exactly `limit`.
    expect(results[5]!.retryAfterMs).toBeLessThanOrEqual(60_000 / 5);
    expect((await limiter.consume('user-2')).allowed).toBe(true);
  });

  it('refills at limit/period and allows again after retry-after', async () => {
    // An emission interval of 3 s: a stall of a busy machine between the calls cannot refill it
    // (with 1 s, one stall of a second between the first and the third call could).
    const limiter = new RateLimiter(client, { limit: 2, periodMs: 6000, keyPrefix: 'rl2:' });
    await limiter.consume('s');
    await limiter.consume('s');
    const denied = await limiter.consume('s');
    expect(denied.allowed).toBe(false);
    await sleep(denied.retryAfterMs + 10);
    expect((await limiter.consume('s')).allowed).toBe(true);
  });

  it('is atomic: 100 concurrent requests against a limit of 10 let exactly 10 through', async () => {
    const limiter = new RateLimiter(client, { limit: 10, periodMs: 60_000, keyPrefix: 'rl3:' });
    const results = await Promise.all(Array.from({ length: 100 }, () => limiter.consume('burst')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('rejects bad options and input with INVALID_ARGUMENT', async () => {
    expect(() => new RateLimiter(client, { limit: 0, periodMs: 1000 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => new RateLimiter(client, { limit: 1, periodMs: -5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const limiter = new RateLimiter(client, { limit: 3, periodMs: 1000 });
    await expect(limiter.consume('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(limiter.consume('x', 4)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('the primitives refuse options they do not have', () => {
  it.each([
    [
      'RateLimiter',
      () => new RateLimiter(client, { limit: 1, periodMs: 1000, prefix: 'x:' } as never),
      'prefix',
    ],
    ['ExpiringSet', () => new ExpiringSet(client, 'holds:opts', { ttlMs: 5 } as never), 'ttlMs'],
    ['RedisKeyValueStore', () => new RedisKeyValueStore(client, { prefix: 'app:' } as never), 'prefix'],
    ['TieredCache', () => new TieredCache(client, { namespace: 'n', ttl: 5 } as never), 'ttl'],
    ['TieredCache l1', () => new TieredCache(client, { namespace: 'n', l1: { max: 5 } } as never), 'max'],
  ])(
    '%s: INVALID_ARGUMENT naming the field (a store without its keyPrefix shares keys with every other)',
    (_name, make, field) => {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((error as Error).message).toContain(`unknown field "${field}"`);
    },
  );
});
