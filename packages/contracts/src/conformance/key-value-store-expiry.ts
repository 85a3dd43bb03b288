import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { expectLongTtl, k, LONG_TTL, PAST_SHORT_TTL, SHORT_TTL } from './key-value-store-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// KeyValueStore suite, expiry: expire sets a TTL, ttl reads it back.

/** expire and ttl, on missing keys, keys without expiry and keys with one. */
export function expiryChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
    {
      name: 'expire sets a TTL on an existing key and resolves false for a missing one',
      async run(kv) {
        const key = k();
        expect(await kv.expire(key, 1000)).toBe(false);
        await kv.set(key, 'v');
        expect(await kv.ttl(key)).toBe(Number.POSITIVE_INFINITY);
        expect(await kv.expire(key, LONG_TTL)).toBe(true);
        expectLongTtl(await kv.ttl(key));
        expect(await kv.expire(key, SHORT_TTL)).toBe(true);
        await sleep(PAST_SHORT_TTL);
        expect(await kv.get(key)).toBeNull();
        expect(await kv.expire(key, 1000)).toBe(false);
      },
    },
    {
      name: 'ttl: null for a missing key, Infinity without expiry, remaining ms otherwise',
      async run(kv) {
        const key = k();
        expect(await kv.ttl(key)).toBeNull();
        await kv.set(key, 'v');
        expect(await kv.ttl(key)).toBe(Number.POSITIVE_INFINITY);
        await kv.set(key, 'v', { ttlMs: 10_000 });
        const ttl = await kv.ttl(key);
        expect(ttl as number).toBeGreaterThan(5000);
        expect(ttl as number).toBeLessThanOrEqual(10_000);
      },
    },
  ];
}
