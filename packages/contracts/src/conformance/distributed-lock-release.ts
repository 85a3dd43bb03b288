import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import { expectFree, expectLocked, r } from './distributed-lock-support.js';
import type { ConformanceCheck } from './shared.js';

// DistributedLock suite, releasing: by the lock, by owner value, by disposal, never by another.

/** Release frees the resource for its owner only, once. */
export function releaseChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'lock.release frees the resource and resolves true, then false',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        await expectLocked(impl, resource);
        expect(await lock.release()).toBe(true);
        expect(lock.held).toBe(false);
        await expectFree(impl, resource);
        expect(await lock.release()).toBe(false);
      },
    },
    {
      name: 'release(resource, value) frees the lock for its owner',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        expect(await impl.release(resource, lock.value)).toBe(true);
        expect(lock.held).toBe(false);
        await expectFree(impl, resource);
        expect(await impl.release(resource, lock.value)).toBe(false);
      },
    },
    {
      name: 'a lock is not released by a non-owner',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        const other = await impl.acquire(r(), 5000);
        expect(await impl.release(resource, 'not-the-owner')).toBe(false);
        expect(await impl.release(resource, other.value)).toBe(false);
        expect(lock.held).toBe(true);
        await expectLocked(impl, resource);
        await other.release();
        expect(await lock.release()).toBe(true);
      },
    },
    {
      name: 'Symbol.asyncDispose releases the lock',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        expect(typeof lock[Symbol.asyncDispose]).toBe('function');
        await lock[Symbol.asyncDispose]();
        expect(lock.held).toBe(false);
        await expectFree(impl, resource);
      },
    },
  ];
}
