import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import {
  expectFree,
  expectLocked,
  PAST_SHORT_TTL,
  RENEWED_TTL,
  r,
  SHORT_TTL,
} from './distributed-lock-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

// DistributedLock suite, withLock: runs fn under the lock, renews it, and always releases it.

const { LOCK_LOST, LOCK_TIMEOUT } = ErrorCodes;

/** withLock settles as fn does and releases the lock either way. */
export function withLockResultChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: "withLock resolves with fn's result and releases the lock",
      async run(impl) {
        const resource = r();
        const result = await impl.withLock(resource, async (signal, lock) => {
          expect(signal.aborted).toBe(false);
          expect(lock.resource).toBe(resource);
          expect(lock.held).toBe(true);
          await expectLocked(impl, resource);
          return 42;
        });
        expect(result).toBe(42);
        await expectFree(impl, resource);
      },
    },
    {
      name: "withLock releases the lock when fn throws and rejects with fn's error",
      async run(impl) {
        const resource = r();
        const boom = new Error('boom');
        await expect(
          impl.withLock(resource, async () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expect(
          impl.withLock(resource, () => {
            throw boom;
          }),
        ).rejects.toBe(boom);
        await expectFree(impl, resource);
      },
    },
  ];
}

/** withLock on a held resource, and on several resources at once. */
export function withLockResourceChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'withLock on a held resource rejects LOCK_TIMEOUT without calling fn',
      async run(impl) {
        const resource = r();
        const holder = await impl.acquire(resource, 5000);
        let called = false;
        await expectInfrastructureError(
          impl.withLock(
            resource,
            () => {
              called = true;
            },
            { retries: 0 },
          ),
          LOCK_TIMEOUT,
        );
        expect(called).toBe(false);
        await holder.release();
      },
    },
    {
      name: 'withLock works on several resources at once',
      async run(impl) {
        const a = r();
        const b = r();
        const value = await impl.withLock([a, b], async (_signal, lock) => {
          expect(lock.resources).toEqual([a, b]);
          await expectLocked(impl, a);
          await expectLocked(impl, b);
          return 'ok';
        });
        expect(value).toBe('ok');
        await expectFree(impl, a);
        await expectFree(impl, b);
      },
    },
  ];
}

/** withLock renews the lock while fn runs, and tells fn when it is lost. */
export function withLockRenewalChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'withLock keeps the lock alive past its TTL while fn runs',
      async run(impl) {
        const resource = r();
        await impl.withLock(
          resource,
          async (signal, lock) => {
            await sleep(RENEWED_TTL * 2.5);
            expect(signal.aborted).toBe(false);
            expect(lock.held).toBe(true);
            await expectLocked(impl, resource);
          },
          { ttlMs: RENEWED_TTL },
        );
        await expectFree(impl, resource);
      },
      timeoutMs: 30_000,
    },
    {
      name: 'withLock aborts the signal with LOCK_LOST when the lock expires, and rejects LOCK_LOST',
      async run(impl) {
        const resource = r();
        let reason: unknown;
        const run = impl.withLock(
          resource,
          async (signal) => {
            await new Promise<void>((resolve) => {
              const safety = setTimeout(resolve, 5000);
              signal.addEventListener('abort', () => {
                clearTimeout(safety);
                resolve();
              });
            });
            reason = signal.reason;
            return 'done';
          },
          { ttlMs: SHORT_TTL, autoExtend: false },
        );
        await expectInfrastructureError(run, LOCK_LOST);
        expect(isInfrastructureError(reason, LOCK_LOST)).toBe(true);
        await expectFree(impl, resource);
      },
    },
    ...[true, false].map(
      (autoExtend): ConformanceCheck<DistributedLock> => ({
        name: `withLock rejects LOCK_LOST when fn's own synchronous work outlasts the TTL, though no timer ran (autoExtend ${autoExtend})`,
        async run(impl) {
          const resource = r();
          let reason: unknown;
          const run = impl.withLock(
            resource,
            async (signal) => {
              // Synchronous work (a large JSON.parse, crypto) from fn's first line: no renewal
              // and no check can run. (No await before it: on a loaded machine even a 1 ms sleep
              // can outlast the short TTL, and the lock would be lost before the work began.)
              const end = performance.now() + PAST_SHORT_TTL;
              while (performance.now() < end) {}
              signal.addEventListener('abort', () => {
                reason = signal.reason;
              });
              return 'committed';
            },
            { ttlMs: SHORT_TTL, autoExtend },
          );
          await expectInfrastructureError(run, LOCK_LOST);
          expect(isInfrastructureError(reason, LOCK_LOST)).toBe(true);
          await expectFree(impl, resource);
        },
      }),
    ),
  ];
}
