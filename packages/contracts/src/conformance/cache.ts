import { ErrorCodes } from '../errors.js';
import type { Cache } from '../ports/cache.js';
import { expect } from './assert.js';
import { cacheBadInputCheck } from './cache-bad-input.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeSuite,
  expectInfrastructureError,
  randomKey,
  sleep,
} from './shared.js';

/** Options of {@link describeCache}. */
export type CacheConformanceOptions<T extends Cache<unknown> = Cache<unknown>> = ConformanceOptions<T>;

const SHORT_TTL = 150;
const PAST_SHORT_TTL = 400;
const { INVALID_ARGUMENT } = ErrorCodes;
const BAD_TTLS = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '100', null] as unknown as number[];

const k = () => randomKey('cache');

/** A loader that counts its calls. */
function counting<T>(value: T | undefined, delayMs = 0) {
  const loader = async (key: string) => {
    loader.calls.push(key);
    if (delayMs > 0) await sleep(delayMs);
    return value;
  };
  loader.calls = [] as string[];
  return loader;
}

/**
 * The checks of {@link describeCache}, each a named `(cache) => Promise<void>`. The factory must
 * give a cache with the default codec (JSON), no default loader and a default TTL of at least
 * 10 s, whose keys no other test sees (a random namespace on a shared server).
 */
export const cacheChecks: readonly ConformanceCheck<Cache<unknown>>[] = [
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
  {
    name: 'keys are exact strings: case, normalisation and spaces tell them apart',
    async run(cache) {
      const base = k();
      const keys = [`${base}é`, `${base}e\u0301`, `${base}É`, `${base}é `, `${base}\ufffd`];
      for (const [i, key] of keys.entries()) await cache.set(key, i);
      for (const [i, key] of keys.entries()) expect(await cache.get(key)).toBe(i);
    },
  },
  {
    name: 'bad keys, values, TTLs and loaders reject INVALID_ARGUMENT and change nothing',
    async run(cache) {
      const key = k();
      await cache.set(key, 'kept');
      for (const bad of ['', 42, undefined, null, `${key}\ud800`] as unknown as string[]) {
        await expectInfrastructureError(() => cache.get(bad), INVALID_ARGUMENT);
        await expectInfrastructureError(() => cache.set(bad, 'v'), INVALID_ARGUMENT);
        await expectInfrastructureError(() => cache.delete(bad), INVALID_ARGUMENT);
      }
      for (const ttl of BAD_TTLS)
        await expectInfrastructureError(() => cache.set(key, 'v', ttl), INVALID_ARGUMENT);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const value of [undefined, circular, 10n, Symbol('s'), () => 1]) {
        await expectInfrastructureError(() => cache.set(key, value), INVALID_ARGUMENT);
      }
      await expectInfrastructureError(() => cache.get(k(), 'nope' as never), INVALID_ARGUMENT);
      expect(await cache.get(key)).toBe('kept');
    },
  },
  cacheBadInputCheck(),
  ...lifecycleChecks<Cache<unknown>>((cache) => cache),
];

/**
 * Registers the {@link Cache} conformance suite: every implementation (the tiered Redis cache,
 * in memory) must pass it. The factory gives a cache with the JSON codec, no default loader, a
 * default TTL of at least 10 s, and keys of its own. Real time with TTLs of 150 ms.
 *
 * @example
 * describeCache('TieredCache', () => new TieredCache(client, { namespace: randomUUID() }), {
 *   teardown: (cache) => cache.close(),
 * });
 */
export function describeCache<T extends Cache<unknown>>(
  factory: () => T | Promise<T>,
  options?: CacheConformanceOptions<T>,
): void;
export function describeCache<T extends Cache<unknown>>(
  name: string,
  factory: () => T | Promise<T>,
  options?: CacheConformanceOptions<T>,
): void;
export function describeCache(...args: unknown[]): void {
  describeSuite<Cache<unknown>>('describeCache', 'Cache conformance', cacheChecks, args);
}
