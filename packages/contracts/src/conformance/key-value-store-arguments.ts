import { ErrorCodes } from '../errors.js';
import type { KeyValueStore } from '../ports/key-value.js';
import { expect } from './assert.js';
import { BAD_TTLS, k } from './key-value-store-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// KeyValueStore suite, arguments: bad input to every method rejects INVALID_ARGUMENT.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad keys, TTLs, values, modes and increments, and that they change nothing. */
export function invalidArgumentChecks(): ConformanceCheck<KeyValueStore>[] {
  return [
    {
      name: 'after close(), every call rejects with INVALID_ARGUMENT (as a closed queue, lock or cache does)',
      async run(kv) {
        const key = k();
        await kv.set(key, 'kept');
        await kv.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['get', () => kv.get(key)],
          ['set', () => kv.set(key, 'x')],
          ['delete', () => kv.delete(key)],
          ['delete()', () => kv.delete()],
          ['incr', () => kv.incr(k())],
          ['expire', () => kv.expire(key, 1000)],
          ['ttl', () => kv.ttl(key)],
          ['mget', () => kv.mget([key])],
          ['mset', () => kv.mset([[key, 'x']])],
        ];
        for (const [name, call] of calls) {
          const error = await expectInfrastructureError(call, INVALID_ARGUMENT);
          expect([name, /closed/.test(error.message)]).toEqual([name, true]);
        }
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
    {
      name: 'a misspelt option (ttl, EX, increment) rejects INVALID_ARGUMENT and changes nothing',
      async run(kv) {
        const key = k();
        await expectInfrastructureError(() => kv.set(key, 'v', { ttl: 1000 } as object), INVALID_ARGUMENT);
        await expectInfrastructureError(
          () => kv.set(key, 'v', { ttlMs: 1000, EX: 1 } as object),
          INVALID_ARGUMENT,
        );
        await expectInfrastructureError(() => kv.incr(key, { increment: 5 } as object), INVALID_ARGUMENT);
        await expectInfrastructureError(
          () => kv.mset({ [key]: 'v' }, { ttl: 1000 } as object),
          INVALID_ARGUMENT,
        );
        expect(await kv.get(key)).toBeNull();
        // A field left undefined (a conditional spread) is no mistake.
        await kv.set(key, 'v', { ttlMs: undefined, ttl: undefined } as object);
        expect(await kv.get(key)).toBe('v');
      },
    },
  ];
}
