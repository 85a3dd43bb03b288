import { ErrorCodes } from '../errors.js';
import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { expectLongTtl, k, LONG_TTL, PAST_SHORT_TTL, SHORT_TTL } from './key-value-store-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

// KeyValueStore suite, counters: incr, its TTL, values it cannot count, and concurrent calls.

const { INVALID_ARGUMENT } = ErrorCodes;

/** incr counts integers only, sets a TTL only when it creates the key, and loses no update. */
export function incrChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
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
      name: 'incr is exact at the safe integer bounds: a result within ±(2^53 − 1) counts whatever the stored value, one outside rejects and leaves the value',
      async run(kv) {
        const key = k();
        // Stored values past the safe range (another service wrote them), results inside it.
        for (const [stored, by, result] of [
          ['9007199254740992', -1, 9007199254740991],
          ['-9007199254740992', 1, -9007199254740991],
          ['9007199254740993', -2, 9007199254740991],
          ['9007199254740990', 1, 9007199254740991],
        ] as const) {
          await kv.set(key, stored);
          expect(await kv.incr(key, { by })).toBe(result);
          expect(await kv.get(key)).toBe(String(result));
        }
        // Results outside it (also where a double would round back inside), or stored values past
        // the 64-bit range: CONFLICT, the value as it was.
        for (const [stored, by] of [
          ['9007199254740991', 1],
          ['9007199254740993', -1],
          ['-9007199254740991', -1],
          ['9223372036854775807', 1],
          ['9223372036854775808', -9007199254740991],
        ] as const) {
          await kv.set(key, stored);
          const error = await expectInfrastructureError(kv.incr(key, { by }));
          expect(error.code).toBe(ErrorCodes.CONFLICT);
          expect(await kv.get(key)).toBe(stored);
        }
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
  ];
}
