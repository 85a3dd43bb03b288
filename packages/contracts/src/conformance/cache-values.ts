import type { Cache } from '../ports/cache.js';
import { expect } from './assert.js';
import { counting, k, PAST_SHORT_TTL, SHORT_TTL } from './cache-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// Cache suite, values: what set stores, under which key, and how a value leaves.

/** Values round-trip equal, under keys told apart by their exact string. */
export function valueChecks(): ConformanceCheck<Cache<unknown>>[] {
  return [
    {
      name: 'get of a missing key without a loader resolves undefined',
      async run(cache) {
        expect(await cache.get(k())).toBeUndefined();
      },
    },
    {
      name: 'set then get gives back an equal value (strings, numbers, null, arrays, nested objects) and set overwrites',
      async run(cache) {
        const key = k();
        const values = [
          'v',
          '',
          'zoë ✓ 🎟️',
          0,
          -1.5,
          true,
          null,
          [1, 'a', null],
          { a: { b: [1, 2] }, c: 'd' },
          'x'.repeat(100_000),
        ];
        for (const value of values) {
          await cache.set(key, value);
          expect(await cache.get(key)).toEqual(value);
        }
      },
    },
    {
      name: 'values handed in or out are copies: changing one changes nothing cached',
      async run(cache) {
        const [stored, loaded] = [k(), k()];
        const given = { items: ['a'] };
        await cache.set(stored, given);
        given.items.push('changed after set');
        for (let read = 0; read < 2; read++) {
          const value = (await cache.get(stored)) as { items: string[] };
          expect(value).toEqual({ items: ['a'] });
          value.items.push('changed by a reader');
        }
        expect(await cache.get(stored)).toEqual({ items: ['a'] });
        const first = (await cache.get(loaded, async () => ({ items: ['b'] }))) as { items: string[] };
        first.items.push('changed by the first reader');
        expect(await cache.get(loaded)).toEqual({ items: ['b'] });
      },
    },
    {
      name: 'keys are exact strings: case, normalisation and spaces tell them apart',
      async run(cache) {
        const base = k();
        const keys = [`${base}é`, `${base}e\u0301`, `${base}É`, `${base}é `, `${base}\ufffd`];
        for (const [i, key] of keys.entries()) await cache.set(key, i);
        for (const [i, key] of keys.entries()) expect(await cache.get(key)).toBe(i);
      },
    },
  ];
}

/** delete removes a value, and a TTL makes it lapse. */
export function removalChecks(): ConformanceCheck<Cache<unknown>>[] {
  return [
    {
      name: 'delete removes a value; the next miss calls the loader again',
      async run(cache) {
        const key = k();
        await cache.set(key, 'old');
        await cache.delete(key);
        expect(await cache.get(key)).toBeUndefined();
        const loader = counting('new');
        expect(await cache.get(key, loader)).toBe('new');
        expect(loader.calls).toHaveLength(1);
        await cache.delete(k());
      },
    },
    {
      name: 'a value set with ttlMs is gone once it has passed',
      async run(cache) {
        const [short, long] = [k(), k()];
        // Read back under a long TTL first: a stalled machine could outlast a short one before the read.
        await cache.set(short, 'v', 60_000);
        await cache.set(long, 'w');
        expect(await cache.get(short)).toBe('v');
        await cache.set(short, 'v', SHORT_TTL);
        await sleep(PAST_SHORT_TTL);
        expect(await cache.get(short)).toBeUndefined();
        expect(await cache.get(long)).toBe('w');
        const loader = counting('again');
        expect(await cache.get(short, loader)).toBe('again');
        expect(loader.calls).toHaveLength(1);
      },
    },
  ];
}
