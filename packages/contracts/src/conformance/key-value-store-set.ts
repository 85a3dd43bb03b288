import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { expectLongTtl, k, LONG_TTL, PAST_SHORT_TTL, SHORT_TTL } from './key-value-store-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// KeyValueStore suite, get and set: round trips, TTLs, and the NX and XX modes.

/** A set is read back, and lapses after its TTL, if any. */
export function setChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
    {
      name: 'get of a missing key resolves null',
      async run(kv) {
        expect(await kv.get(k())).toBeNull();
      },
    },
    {
      name: 'set then get round-trips strings (empty, unicode, long) and overwrites',
      async run(kv) {
        const key = k();
        for (const value of ['v1', '', 'zoë ✓ 🎟️', 'x'.repeat(100_000), 'v2']) {
          expect(await kv.set(key, value)).toBe(true);
          expect(await kv.get(key)).toBe(value);
        }
      },
    },
    {
      name: 'set with ttlMs expires the key',
      async run(kv) {
        const key = k();
        expect(await kv.set(key, 'v', { ttlMs: LONG_TTL })).toBe(true);
        expectLongTtl(await kv.ttl(key));
        expect(await kv.set(key, 'v', { ttlMs: SHORT_TTL })).toBe(true);
        await sleep(PAST_SHORT_TTL);
        expect(await kv.get(key)).toBeNull();
        expect(await kv.ttl(key)).toBeNull();
        expect(await kv.mget([key])).toEqual([null]);
      },
    },
    {
      name: 'a plain set clears an earlier TTL',
      async run(kv) {
        const key = k();
        await kv.set(key, 'v', { ttlMs: SHORT_TTL });
        await kv.set(key, 'w');
        expect(await kv.ttl(key)).toBe(Number.POSITIVE_INFINITY);
        await sleep(PAST_SHORT_TTL);
        expect(await kv.get(key)).toBe('w');
      },
    },
  ];
}

/** NX sets only a missing key, XX only an existing one, and concurrent NX sets have one winner. */
export function setModeChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
    {
      name: 'NX sets only a missing key',
      async run(kv) {
        const key = k();
        expect(await kv.set(key, 'first', { mode: 'NX' })).toBe(true);
        expect(await kv.set(key, 'second', { mode: 'NX' })).toBe(false);
        expect(await kv.get(key)).toBe('first');
      },
    },
    {
      name: 'XX sets only an existing key',
      async run(kv) {
        const key = k();
        expect(await kv.set(key, 'first', { mode: 'XX' })).toBe(false);
        expect(await kv.get(key)).toBeNull();
        await kv.set(key, 'first');
        expect(await kv.set(key, 'second', { mode: 'XX', ttlMs: 5000 })).toBe(true);
        expect(await kv.get(key)).toBe('second');
        expect(await kv.ttl(key)).toBeLessThanOrEqual(5000);
      },
    },
    {
      name: 'an expired key counts as missing for NX and XX',
      async run(kv) {
        const key = k();
        await kv.set(key, 'old', { ttlMs: SHORT_TTL });
        await sleep(PAST_SHORT_TTL);
        expect(await kv.set(key, 'x', { mode: 'XX' })).toBe(false);
        expect(await kv.set(key, 'new', { mode: 'NX', ttlMs: 5000 })).toBe(true);
        expect(await kv.get(key)).toBe('new');
      },
    },
    {
      name: 'concurrent set NX: exactly one wins',
      async run(kv) {
        const key = k();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => kv.set(key, String(i), { mode: 'NX' })),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await kv.get(key)).toBe(String(results.indexOf(true)));
      },
    },
  ];
}
