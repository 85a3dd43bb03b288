import { ErrorCodes } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import { expectFree, expectLocked, r } from './distributed-lock-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// DistributedLock suite, several resources in one lock: held, taken and released together.

const { LOCK_TIMEOUT } = ErrorCodes;

/** A multi-resource lock holds, acquires and releases all of its resources or none. */
export function multiResourceChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'a multi-resource lock holds every resource, with a fencing token each',
      async run(impl) {
        const a = r();
        const b = r();
        const lock = await impl.acquire([a, b], 5000);
        expect(lock.resources).toEqual([a, b]);
        expect(lock.resource).toBe(a);
        expect(lock.fencingTokens).toHaveLength(2);
        expect(lock.fencingToken).toBe(lock.fencingTokens[0]);
        await expectLocked(impl, a);
        await expectLocked(impl, b);
        expect(await lock.release()).toBe(true);
        await expectFree(impl, a);
        await expectFree(impl, b);
      },
    },
    {
      name: 'a multi-resource acquire is all or nothing',
      async run(impl) {
        const a = r();
        const b = r();
        const c = r();
        const held = await impl.acquire(b, 5000);
        await expectInfrastructureError(impl.acquire([a, b, c], 5000, { retries: 0 }), LOCK_TIMEOUT);
        await expectInfrastructureError(
          impl.acquire([c, a, b], 5000, { retries: 2, retryDelayMs: 10, jitterMs: 0 }),
          LOCK_TIMEOUT,
        );
        // Nothing was left behind on the resources that were free.
        await expectFree(impl, a);
        await expectFree(impl, c);
        await held.release();
        const all = await impl.acquire([a, b, c], 5000, { retries: 0 });
        await all.release();
      },
    },
    {
      name: 'release(resources, value) frees a multi-resource lock',
      async run(impl) {
        const a = r();
        const b = r();
        const lock = await impl.acquire([a, b], 5000);
        expect(await impl.release([a, b], lock.value)).toBe(true);
        await expectFree(impl, a);
        await expectFree(impl, b);
      },
    },
  ];
}
