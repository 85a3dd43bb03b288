import { ErrorCodes } from '../errors.js';
import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { keyValueStoreBadInputCheck } from './key-value-store-bad-input.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeSuite,
  expectInfrastructureError,
  randomKey,
  sleep,
} from './shared.js';

/** Options of {@link describeKeyValueStore}. */
export type KeyValueStoreConformanceOptions<T extends KeyValueStore = KeyValueStore> = ConformanceOptions<T>;

/** Short TTL used where a test waits for expiry (real time). */
const SHORT_TTL = 150;
const PAST_SHORT_TTL = 400;
/**
 * TTL of the checks that read a TTL back: a TTL of {@link SHORT_TTL} could run out while a loaded
 * machine stalled between the write and the read (it did, once, in a clean-clone run).
 */
const LONG_TTL = 60_000;

/** A TTL read back soon after setting {@link LONG_TTL}: in ms (not s), and not yet run down far. */
function expectLongTtl(ttl: number | null): void {
  expect(ttl).not.toBeNull();
  expect(ttl as number).toBeGreaterThan(LONG_TTL / 2);
  expect(ttl as number).toBeLessThanOrEqual(LONG_TTL);
}
const { INVALID_ARGUMENT } = ErrorCodes;
const BAD_TTLS = [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

const k = () => randomKey('kv');

/**
 * The checks of {@link describeKeyValueStore}, each a named `(impl) => Promise<void>`. The
 * names are stable: tests may pick checks by name (see `findCheck`).
 */
export const keyValueStoreChecks: readonly ConformanceCheck<KeyValueStore>[] = [
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
    name: 'incr counts from 0, by 1 or by a given (negative) integer',
    async run(kv) {
      const key = k();
      expect(await kv.incr(key)).toBe(1);
      expect(await kv.incr(key)).toBe(2);
      expect(await kv.incr(key, { by: 10 })).toBe(12);
      expect(await kv.incr(key, { by: -20 })).toBe(-8);
      expect(await kv.get(key)).toBe('-8');
      await kv.set(key, '41');
      expect(await kv.incr(key)).toBe(42);
    },
  },
  {
    name: 'incr with ttlMs sets the TTL only when it creates the key',
    async run(kv) {
      const created = k();
      expect(await kv.incr(created, { ttlMs: LONG_TTL })).toBe(1);
      expectLongTtl(await kv.ttl(created));
      expect(await kv.incr(created, { ttlMs: 5000 })).toBe(2);
      expectLongTtl(await kv.ttl(created));
      await kv.delete(created);
      expect(await kv.incr(created, { ttlMs: SHORT_TTL })).toBe(1);
      await sleep(PAST_SHORT_TTL);
      expect(await kv.get(created)).toBeNull();
      // After expiry the key is created again, with a fresh TTL.
      expect(await kv.incr(created, { ttlMs: 5000 })).toBe(1);
      expect(await kv.ttl(created)).toBeGreaterThan(SHORT_TTL);

      const existing = k();
      await kv.set(existing, '5');
      expect(await kv.incr(existing, { ttlMs: SHORT_TTL })).toBe(6);
      expect(await kv.ttl(existing)).toBe(Number.POSITIVE_INFINITY);
    },
  },
  {
    name: 'incr of a value that is not an integer rejects with an InfrastructureError',
    async run(kv) {
      const key = k();
      for (const value of ['abc', '1.5', '', ' 1']) {
        await kv.set(key, value);
        const error = await expectInfrastructureError(kv.incr(key));
        expect(error.code).not.toBe(INVALID_ARGUMENT);
        expect(await kv.get(key)).toBe(value);
      }
    },
  },
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
  {
    name: 'concurrent incr loses no update',
    async run(kv) {
      const key = k();
      const results = await Promise.all(Array.from({ length: 100 }, () => kv.incr(key)));
      expect(await kv.get(key)).toBe('100');
      expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
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
  {
    name: 'bad keys reject INVALID_ARGUMENT in every method',
    async run(kv) {
      const bad = ['', 42 as unknown as string, undefined as unknown as string];
      for (const key of bad) {
        await expectInfrastructureError(() => kv.get(key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.set(key, 'v'), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.delete(key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.delete(k(), key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.incr(key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.expire(key, 1000), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.ttl(key), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.mget([k(), key]), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.mset([[key, 'v']]), INVALID_ARGUMENT);
      }
      await expectInfrastructureError(() => kv.mset({ '': 'v' }), INVALID_ARGUMENT);
      await expectInfrastructureError(() => kv.mget('nope' as unknown as string[]), INVALID_ARGUMENT);
    },
  },
  {
    name: 'bad TTLs, values and increments reject INVALID_ARGUMENT and change nothing',
    async run(kv) {
      const key = k();
      for (const ttlMs of BAD_TTLS) {
        await expectInfrastructureError(() => kv.set(key, 'v', { ttlMs }), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.incr(key, { ttlMs }), INVALID_ARGUMENT);
        await expectInfrastructureError(() => kv.mset({ [key]: 'v' }, { ttlMs }), INVALID_ARGUMENT);
      }
      expect(await kv.get(key)).toBeNull();
      await kv.set(key, '1');
      for (const ttlMs of BAD_TTLS) {
        await expectInfrastructureError(() => kv.expire(key, ttlMs), INVALID_ARGUMENT);
      }
      expect(await kv.ttl(key)).toBe(Number.POSITIVE_INFINITY);
      for (const by of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '2' as unknown as number]) {
        await expectInfrastructureError(() => kv.incr(key, { by }), INVALID_ARGUMENT);
      }
      await expectInfrastructureError(() => kv.set(key, 5 as unknown as string), INVALID_ARGUMENT);
      await expectInfrastructureError(() => kv.set(key, null as unknown as string), INVALID_ARGUMENT);
      await expectInfrastructureError(
        () => kv.set(key, 'v', { mode: 'YY' as unknown as 'NX' }),
        INVALID_ARGUMENT,
      );
      await expectInfrastructureError(() => kv.mset({ [k()]: 7 as unknown as string }), INVALID_ARGUMENT);
      expect(await kv.get(key)).toBe('1');
    },
  },
  keyValueStoreBadInputCheck(),
  ...lifecycleChecks<KeyValueStore>((store) => store),
];

/**
 * Registers the {@link KeyValueStore} conformance suite: every implementation (Redis, in
 * memory) must pass it. Uses real time with short TTLs and random keys.
 *
 * @example
 * describeKeyValueStore('RedisKeyValueStore', () => new RedisKeyValueStore(client));
 */
export function describeKeyValueStore<T extends KeyValueStore>(
  factory: () => T | Promise<T>,
  options?: KeyValueStoreConformanceOptions<T>,
): void;
export function describeKeyValueStore<T extends KeyValueStore>(
  name: string,
  factory: () => T | Promise<T>,
  options?: KeyValueStoreConformanceOptions<T>,
): void;
export function describeKeyValueStore(...args: unknown[]): void {
  describeSuite<KeyValueStore>(
    'describeKeyValueStore',
    'KeyValueStore conformance',
    keyValueStoreChecks,
    args,
  );
}
