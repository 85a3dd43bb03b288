import { describe, expect, it } from '@jest/globals';
import { findCheck, rateLimiterChecks } from '../src/conformance.js';
import { isInfrastructureError, type RateLimiter } from '../src/index.js';
import { ManualClock, MemoryCache, MemoryExpiringSet, MemoryRateLimiter } from '../src/memory.js';

describe('MemoryRateLimiter with a ManualClock', () => {
  it('refills one request every periodMs / limit and reports exact retry-after and reset times', async () => {
    const clock = new ManualClock(1_000);
    const limiter = new MemoryRateLimiter({ limit: 4, periodMs: 1000, clock });
    for (let i = 3; i >= 0; i--)
      expect(await limiter.consume('u')).toMatchObject({ allowed: true, remaining: i });
    expect(await limiter.consume('u')).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 250,
      resetMs: 1000,
    });
    clock.advance(249);
    expect((await limiter.consume('u')).allowed).toBe(false);
    clock.advance(1);
    expect(await limiter.consume('u')).toEqual({
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
      resetMs: 1000,
    });
    clock.advance(1000);
    expect(limiter.size()).toBe(0);
    expect(await limiter.consume('u', 4)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('keeps exact counts when the interval is not a whole number of ms', async () => {
    const clock = new ManualClock(Date.now());
    const limiter = new MemoryRateLimiter({ limit: 3, periodMs: 1000, clock });
    const remaining = [];
    for (let i = 0; i < 3; i++) remaining.push((await limiter.consume('u')).remaining);
    expect(remaining).toEqual([2, 1, 0]);
    clock.advance(334);
    expect(await limiter.consume('u')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('is exact at an epoch start time: for limits 1 to 100, a burst of `limit`, then allowed again after exactly retryAfterMs, and in full after resetMs', async () => {
    const wrong: string[] = [];
    for (const periodMs of [1000, 60_000, 86_400_000]) {
      for (let limit = 1; limit <= 100; limit++) {
        const clock = new ManualClock(1_700_000_000_123);
        const limiter = new MemoryRateLimiter({ limit, periodMs, clock });
        const remaining: number[] = [];
        for (let i = 0; i < limit; i++) {
          const r = await limiter.consume('u');
          remaining.push(r.allowed ? r.remaining : -1);
        }
        const want = Array.from({ length: limit }, (_, i) => limit - 1 - i);
        if (remaining.join() !== want.join()) wrong.push(`${limit}/${periodMs}: ${remaining.join()}`);
        const denied = await limiter.consume('u');
        if (denied.allowed || denied.retryAfterMs !== Math.ceil(periodMs / limit)) {
          wrong.push(`${limit}/${periodMs}: denied ${JSON.stringify(denied)}`);
        }
        clock.advance(denied.retryAfterMs - 1);
        if ((await limiter.consume('u')).allowed) wrong.push(`${limit}/${periodMs}: allowed 1 ms early`);
        clock.advance(1);
        const again = await limiter.consume('u');
        if (!again.allowed || again.remaining !== 0)
          wrong.push(`${limit}/${periodMs}: after retryAfterMs ${JSON.stringify(again)}`);
        clock.advance(again.resetMs);
        const full = await limiter.consume('u', limit);
        if (!full.allowed) wrong.push(`${limit}/${periodMs}: not full again after resetMs`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses bad settings with INVALID_ARGUMENT', () => {
    for (const options of [
      undefined,
      { limit: 0, periodMs: 1 },
      { limit: 1, periodMs: 2 ** 53 },
      { limit: 1, periodMs: 1, clock: 'system' },
      { limit: 1, periodMs: 1, clock: null },
    ]) {
      let error: unknown;
      try {
        new MemoryRateLimiter(options as never);
      } catch (e) {
        error = e;
      }
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('MemoryExpiringSet with a ManualClock', () => {
  it('expires members exactly at their TTL and orders ties by member', async () => {
    const clock = new ManualClock(0);
    const set = new MemoryExpiringSet({ clock, defaultTtlMs: 100 });
    await set.add('b');
    await set.add('a');
    await set.add('c', 50.2);
    expect(await set.members()).toEqual(['c', 'a', 'b']);
    expect(await set.ttl('c')).toBe(51);
    clock.advance(51);
    expect(await set.members()).toEqual(['a', 'b']);
    expect(await set.purge()).toBe(1);
    clock.advance(49);
    expect(await set.count()).toBe(0);
    expect(await set.tryAdd('a')).toBe(true);
  });

  it('refuses a clock without now() with INVALID_ARGUMENT', () => {
    for (const clock of ['system', null, 5, {}]) {
      let error: unknown;
      try {
        new MemoryExpiringSet({ clock } as never);
      } catch (e) {
        error = e;
      }
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('MemoryCache with a ManualClock', () => {
  it('expires values, serves stale ones while one reload runs, and hands out copies', async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    const cache = new MemoryCache<{ n: number; at?: unknown }>({
      clock,
      ttlMs: 100,
      staleWhileRevalidateMs: 1000,
      loader: async () => ({ n: ++calls }),
    });
    const first = await cache.get('k');
    expect(first).toEqual({ n: 1 });
    (first as { n: number }).n = 99;
    expect(await cache.get('k')).toEqual({ n: 1 });
    clock.advance(100);
    expect(await cache.get('k')).toEqual({ n: 1 }); // stale, reloading
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.get('k')).toEqual({ n: 2 });
    await cache.set('d', { n: 0, at: new Date(0) });
    expect(await cache.get('d')).toEqual({ n: 0, at: '1970-01-01T00:00:00.000Z' });
    clock.advance(1100);
    expect(cache.keys()).toEqual([]);
  });
});

describe('the RateLimiter suite', () => {
  it('catches a limiter that charges denied requests', async () => {
    const make = async (settings: { limit: number; periodMs: number }): Promise<RateLimiter> => {
      const inner = new MemoryRateLimiter(settings);
      return {
        consume: async (subject, cost = 1) => {
          const result = await inner.consume(subject, cost);
          if (!result.allowed) await inner.reset(subject).then(() => inner.consume(subject, settings.limit));
          return result;
        },
        reset: (subject) => inner.reset(subject),
        health: () => inner.health(),
        close: () => inner.close(),
      };
    };
    const check = findCheck(
      rateLimiterChecks,
      'a cost counts as that many requests, and a denied request takes nothing',
    );
    await expect(check.run(make)).rejects.toThrow();
    await check.run(async (settings) => new MemoryRateLimiter(settings));
  });
});
