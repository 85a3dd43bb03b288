import type { Cache } from '../ports/cache.js';
import { expect } from './assert.js';
import { counting, gated, k } from './cache-support.js';
import type { ConformanceCheck } from './shared.js';

// Cache suite, loaders: what a miss does with the loader, its result and its error.

/**
 * A miss calls the loader once, caches what it resolves, and caches neither undefined nor errors;
 * a write made while a load runs wins over what the load brings back.
 */
export function loaderChecks(): ConformanceCheck<Cache<unknown>>[] {
  return [
    {
      name: 'a miss calls the loader with the key and caches what it resolves',
      async run(cache) {
        const key = k();
        const loader = counting({ n: 1 });
        expect(await cache.get(key, loader)).toEqual({ n: 1 });
        expect(await cache.get(key, loader)).toEqual({ n: 1 });
        expect(await cache.get(key)).toEqual({ n: 1 });
        expect(loader.calls).toEqual([key]);
      },
    },
    {
      name: 'a loader that resolves undefined caches nothing',
      async run(cache) {
        const key = k();
        const loader = counting(undefined);
        expect(await cache.get(key, loader)).toBeUndefined();
        expect(await cache.get(key, loader)).toBeUndefined();
        expect(loader.calls).toHaveLength(2);
        expect(await cache.get(key, counting('now'))).toBe('now');
      },
    },
    {
      name: "a loader's error reaches the caller as it is and caches nothing",
      async run(cache) {
        const key = k();
        const failure = new Error('loader failed');
        await expect(
          cache.get(key, async () => {
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await cache.get(key)).toBeUndefined();
      },
    },
    {
      name: 'concurrent misses of one key call the loader once',
      async run(cache) {
        const key = k();
        const loader = counting('shared', 50);
        const values = await Promise.all(Array.from({ length: 50 }, () => cache.get(key, loader)));
        expect(values.every((v) => v === 'shared')).toBe(true);
        expect(loader.calls).toHaveLength(1);
      },
    },
    {
      name: 'a set or a delete made while a load runs wins over the older value the load brings back',
      async run(cache) {
        const [written, deleted] = [k(), k()];
        const slow = gated('loaded before the set');
        const reading = cache.get(written, slow);
        await slow.started;
        await cache.set(written, 'set while loading');
        slow.release();
        await reading; // its caller asked before the set: either value may come back to it
        expect(await cache.get(written)).toBe('set while loading');

        const slower = gated('loaded before the delete');
        const loading = cache.get(deleted, slower);
        await slower.started;
        await cache.delete(deleted);
        slower.release();
        await loading;
        expect(await cache.get(deleted)).toBeUndefined();
        expect(slow.calls).toHaveLength(1);
        expect(slower.calls).toHaveLength(1);
      },
    },
  ];
}
