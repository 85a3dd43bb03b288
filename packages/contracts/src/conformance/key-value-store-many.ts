import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { k, PAST_SHORT_TTL, SHORT_TTL } from './key-value-store-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// KeyValueStore suite, several keys per call: delete, mget and mset.

/** delete, mget and mset, with missing keys, both input shapes and a shared TTL. */
export function multiKeyChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
    {
      name: 'delete resolves how many keys existed',
      async run(kv) {
        const [a, b, c] = [k(), k(), k()];
        await kv.set(a, '1');
        await kv.set(b, '2');
        expect(await kv.delete(a, b, c)).toBe(2);
        expect(await kv.get(a)).toBeNull();
        expect(await kv.get(b)).toBeNull();
        expect(await kv.delete(a)).toBe(0);
        expect(await kv.delete()).toBe(0);
      },
    },
    {
      name: 'mget returns values in order with null for missing keys',
      async run(kv) {
        const [a, b, c] = [k(), k(), k()];
        await kv.set(a, 'A');
        await kv.set(c, 'C');
        expect(await kv.mget([a, b, c, a])).toEqual(['A', null, 'C', 'A']);
        expect(await kv.mget([])).toEqual([]);
      },
    },
    {
      name: 'mset takes an object or pairs, optionally with one TTL for all',
      async run(kv) {
        const [a, b, c, d] = [k(), k(), k(), k()];
        await kv.mset({ [a]: '1', [b]: '2' });
        expect(await kv.mget([a, b])).toEqual(['1', '2']);
        expect(await kv.ttl(a)).toBe(Number.POSITIVE_INFINITY);
        await kv.mset([
          [c, '3'],
          [d, '4'],
        ]);
        expect(await kv.mget([c, d])).toEqual(['3', '4']);
        // A TTL long enough that a stalled machine cannot expire the keys before they are read back.
        await kv.mset({ [a]: 'x', [c]: 'y' }, { ttlMs: 60_000 });
        expect(await kv.mget([a, c])).toEqual(['x', 'y']);
        const ttl = await kv.ttl(a);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
        await kv.mset({ [a]: 'x', [c]: 'y' }, { ttlMs: SHORT_TTL });
        await sleep(PAST_SHORT_TTL);
        expect(await kv.mget([a, b, c, d])).toEqual([null, '2', null, '4']);
        await kv.mset({});
        await kv.mset([]);
      },
    },
  ];
}
