import { ErrorCodes } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import { r } from './distributed-lock-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// DistributedLock suite, arguments: bad input to every method rejects INVALID_ARGUMENT.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad resources, TTLs, values, options and functions, method by method. */
export function invalidArgumentChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'bad input to acquire rejects INVALID_ARGUMENT',
      async run(impl) {
        const bad: [unknown, unknown, unknown][] = [
          ['', 1000, {}],
          [[], 1000, {}],
          [['ok', ''], 1000, {}],
          [[r(), 'dup', 'dup'], 1000, {}],
          [42, 1000, {}],
          [r(), 0, {}],
          [r(), -1, {}],
          [r(), Number.NaN, {}],
          [r(), Number.POSITIVE_INFINITY, {}],
          [r(), 1000, { retries: -1 }],
          [r(), 1000, { retries: 1.5 }],
          [r(), 1000, { retries: Number.NaN }],
          [r(), 1000, { retryDelayMs: -1 }],
          [r(), 1000, { retryDelayMs: Number.NaN }],
          [r(), 1000, { jitterMs: -1 }],
        ];
        for (const [resource, ttl, options] of bad) {
          await expectInfrastructureError(
            () => impl.acquire(resource as string, ttl as number, options as object),
            INVALID_ARGUMENT,
          );
        }
      },
    },
    {
      name: 'bad input to release, extend and withLock rejects INVALID_ARGUMENT',
      async run(impl) {
        const lock = await impl.acquire(r(), 5000);
        await expectInfrastructureError(() => impl.release('', lock.value), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.release([], lock.value), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.release(lock.resource, ''), INVALID_ARGUMENT);
        for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectInfrastructureError(() => lock.extend(ttl), INVALID_ARGUMENT);
        }
        expect(lock.held).toBe(true);
        const fn = () => 1;
        await expectInfrastructureError(() => impl.withLock('', fn), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.withLock([], fn), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.withLock(r(), fn, { ttlMs: 0 }), INVALID_ARGUMENT);
        await expectInfrastructureError(
          () => impl.withLock(r(), fn, { ttlMs: Number.POSITIVE_INFINITY }),
          INVALID_ARGUMENT,
        );
        await expectInfrastructureError(() => impl.withLock(r(), fn, { retries: -1 }), INVALID_ARGUMENT);
        await expectInfrastructureError(
          () => impl.withLock(r(), 'not a function' as unknown as () => number),
          INVALID_ARGUMENT,
        );
        await lock.release();
      },
    },
    {
      name: 'a misspelt option (retry, ttl, autoRenew) rejects INVALID_ARGUMENT and takes no lock',
      async run(impl) {
        const resource = r();
        let ran = 0;
        const fn = () => {
          ran++;
        };
        for (const options of [{ retry: 0 }, { retries: 0, signl: new AbortController().signal }]) {
          await expectInfrastructureError(
            () => impl.acquire(resource, 1000, options as object),
            INVALID_ARGUMENT,
          );
        }
        for (const options of [{ ttl: 60_000 }, { autoRenew: false }]) {
          await expectInfrastructureError(
            () => impl.withLock(resource, fn, options as object),
            INVALID_ARGUMENT,
          );
        }
        expect(ran).toBe(0);
        // Nothing was taken: the resource is free at once.
        const lock = await impl.acquire(resource, 1000, { retries: 0, unused: undefined } as object);
        await lock.release();
      },
    },
  ];
}
