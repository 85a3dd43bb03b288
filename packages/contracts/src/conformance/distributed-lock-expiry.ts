import { ErrorCodes } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import {
  expectFree,
  expectLocked,
  PAST_SHORT_TTL,
  PATIENT,
  r,
  SHORT_TTL,
} from './distributed-lock-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

// DistributedLock suite, time: a lock lapses after its TTL unless extended by its holder.

const { LOCK_LOST } = ErrorCodes;

/** An expired lock is no longer held and can be taken by another. */
export function expiryChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'an expired lock can be taken by another, and its late release leaves the new holder alone',
      async run(impl) {
        const resource = r();
        const first = await impl.acquire(resource, SHORT_TTL);
        const second = await impl.acquire(resource, 5000, PATIENT);
        expect(second.value).not.toBe(first.value);
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        expect(first.held).toBe(false);
        expect(await first.release()).toBe(false);
        expect(await impl.release(resource, first.value)).toBe(false);
        expect(second.held).toBe(true);
        await expectLocked(impl, resource);
        expect(await second.release()).toBe(true);
      },
    },
    {
      name: 'a lock is no longer held once its TTL has passed',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, SHORT_TTL);
        await sleep(PAST_SHORT_TTL);
        expect(lock.held).toBe(false);
        await expectFree(impl, resource);
      },
    },
  ];
}

/** Extend pushes the expiry out for the holder only, while the lock is held. */
export function extendChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'extend pushes the expiry out while the lock is held',
      async run(impl) {
        const resource = r();
        // Acquired for 2 s, not SHORT_TTL: the extend must reach the lock while it is held, and a
        // loaded machine's event loop stalls for up to ~0.5 s between the two calls.
        const lock = await impl.acquire(resource, 2000);
        await lock.extend(5000);
        expect(lock.expiresAt).toBeGreaterThan(Date.now() + 2500);
        await sleep(2500); // past the first TTL: only the extend keeps it
        expect(lock.held).toBe(true);
        await expectLocked(impl, resource);
        expect(await lock.release()).toBe(true);
      },
    },
    {
      name: 'extend of an expired lock rejects LOCK_LOST',
      async run(impl) {
        const lock = await impl.acquire(r(), SHORT_TTL);
        await sleep(PAST_SHORT_TTL);
        await expectInfrastructureError(lock.extend(5000), LOCK_LOST);
        expect(lock.held).toBe(false);
      },
    },
    {
      name: 'a lock is not extended by a non-owner (the old holder after a takeover)',
      async run(impl) {
        const resource = r();
        const first = await impl.acquire(resource, SHORT_TTL);
        const second = await impl.acquire(resource, 5000, PATIENT);
        await expectInfrastructureError(first.extend(5000), LOCK_LOST);
        expect(first.held).toBe(false);
        expect(second.held).toBe(true);
        expect(await second.release()).toBe(true);
        await expectFree(impl, resource);
      },
    },
    {
      name: 'extend after release rejects LOCK_LOST',
      async run(impl) {
        const lock = await impl.acquire(r(), 5000);
        await lock.release();
        await expectInfrastructureError(lock.extend(5000), LOCK_LOST);
      },
    },
  ];
}
