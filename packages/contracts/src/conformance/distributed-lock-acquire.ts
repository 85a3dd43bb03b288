import { ErrorCodes } from '../errors.js';
import type { DistributedLock } from '../ports/lock.js';
import { expect } from './assert.js';
import { expectFree, PATIENT, r } from './distributed-lock-support.js';
import { type ConformanceCheck, expectInfrastructureError, sleep } from './shared.js';

// DistributedLock suite, acquiring: what a lock is, waiting for one, and giving up waiting.

const { LOCK_TIMEOUT } = ErrorCodes;

/** A fresh lock: its fields, its default TTL, its unique owner value. */
export function acquireChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'acquire gives a held lock with its resource, a unique value, a fencing token and a future expiry',
      async run(impl) {
        const resource = r();
        const before = Date.now();
        const lock = await impl.acquire(resource, 5000);
        expect(lock.resource).toBe(resource);
        expect(lock.resources).toEqual([resource]);
        expect(typeof lock.value).toBe('string');
        expect(lock.value.length).toBeGreaterThan(0);
        expect(Number.isFinite(lock.fencingToken)).toBe(true);
        expect(lock.fencingTokens).toEqual([lock.fencingToken]);
        expect(lock.held).toBe(true);
        // Never handed out already expired; expiry in epoch ms, at most the TTL away (1 s skew allowed).
        expect(lock.expiresAt).toBeGreaterThan(Date.now());
        expect(lock.expiresAt).toBeLessThanOrEqual(before + 5000 + 1000);
        expect(await lock.release()).toBe(true);
      },
    },
    {
      name: 'the TTL defaults to 5000 ms',
      async run(impl) {
        const lock = await impl.acquire(r());
        expect(lock.expiresAt).toBeGreaterThan(Date.now() + 2000);
        await lock.release();
      },
    },
    {
      name: 'owner values are unique across acquisitions',
      async run(impl) {
        const values = new Set<string>();
        for (let i = 0; i < 5; i++) {
          const lock = await impl.acquire(r(), 1000);
          values.add(lock.value);
          await lock.release();
        }
        const resource = r();
        for (let i = 0; i < 5; i++) {
          const lock = await impl.acquire(resource, 1000);
          values.add(lock.value);
          await lock.release();
        }
        expect(values.size).toBe(10);
      },
    },
  ];
}

/** Retries on a held resource: spent retries time out, a waiter gets the lock once it is free. */
export function waitChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'a held resource with retries 0 rejects LOCK_TIMEOUT',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        const error = await expectInfrastructureError(
          impl.acquire(resource, 1000, { retries: 0 }),
          LOCK_TIMEOUT,
        );
        expect((error as { resources?: unknown }).resources).toEqual([resource]);
        expect(lock.held).toBe(true);
        await lock.release();
      },
    },
    {
      name: 'acquire rejects LOCK_TIMEOUT once its retries are spent',
      async run(impl) {
        const resource = r();
        const lock = await impl.acquire(resource, 5000);
        await expectInfrastructureError(
          impl.acquire(resource, 1000, { retries: 2, retryDelayMs: 10, jitterMs: 0 }),
          LOCK_TIMEOUT,
        );
        await lock.release();
      },
    },
    {
      name: 'a waiter gets the lock once the holder releases it',
      async run(impl) {
        const resource = r();
        const first = await impl.acquire(resource, 5000);
        const waiting = impl.acquire(resource, 5000, PATIENT);
        await sleep(50);
        await first.release();
        const second = await waiting;
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        await second.release();
      },
    },
  ];
}

/** An abort signal stops the wait, whether it fires while waiting or before. */
export function abortChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'aborting the signal stops waiting with LOCK_TIMEOUT (cause: the reason) and leaves nothing held',
      async run(impl) {
        const resource = r();
        const holder = await impl.acquire(resource, 5000);
        const controller = new AbortController();
        const waiting = impl.acquire(resource, 5000, {
          retries: Number.POSITIVE_INFINITY,
          retryDelayMs: 20,
          signal: controller.signal,
        });
        await sleep(50);
        const reason = new Error('caller gave up');
        controller.abort(reason);
        const error = await expectInfrastructureError(waiting, LOCK_TIMEOUT);
        expect(error.cause).toBe(reason);
        // The caller stopped it: not a failure a retry would mend.
        expect(error.retryable).toBe(false);
        await holder.release();
        await sleep(50);
        await expectFree(impl, resource);
      },
    },
    {
      name: 'close() stops waiting acquisitions and refuses later ones (acquire, withLock): LOCK_TIMEOUT, not retryable',
      async run(impl) {
        const resource = r();
        const holder = await impl.acquire(resource, 5000);
        // Its outcome is watched from the start: it may reject while close() is still running.
        const waiting = expectInfrastructureError(
          impl.acquire(resource, 5000, { retries: Number.POSITIVE_INFINITY, retryDelayMs: 20 }),
          LOCK_TIMEOUT,
        );
        await sleep(50);
        await impl.close();
        expect((await waiting).retryable).toBe(false);
        let ran = false;
        for (const later of [
          () => impl.acquire(r(), 1000, { retries: 0 }),
          () =>
            impl.withLock(r(), () => {
              ran = true;
            }),
        ]) {
          expect((await expectInfrastructureError(later(), LOCK_TIMEOUT)).retryable).toBe(false);
        }
        expect(ran).toBe(false);
        await holder.release().catch(() => false);
      },
    },
    {
      name: 'an already aborted signal rejects LOCK_TIMEOUT (cause: the reason)',
      async run(impl) {
        const resource = r();
        const holder = await impl.acquire(resource, 5000);
        const reason = new Error('no');
        const error = await expectInfrastructureError(
          impl.acquire(resource, 5000, {
            retries: Number.POSITIVE_INFINITY,
            signal: AbortSignal.abort(reason),
          }),
          LOCK_TIMEOUT,
        );
        expect(error.cause).toBe(reason);
        await holder.release();
      },
    },
  ];
}
