import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { DistributedLock, Lock } from '../ports/lock.js';
import { expect } from './assert.js';
import { PATIENT, r, SHORT_TTL } from './distributed-lock-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// DistributedLock suite, ordering and contention: fencing tokens, and many callers at once.

const { LOCK_TIMEOUT } = ErrorCodes;

/** Fencing tokens only ever grow for a resource. */
export function fencingChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: 'fencing tokens strictly increase per resource',
      async run(impl) {
        const resource = r();
        let last = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < 5; i++) {
          const lock = await impl.acquire(resource, 5000);
          expect(lock.fencingToken).toBeGreaterThan(last);
          last = lock.fencingToken;
          await lock.release();
        }
        // Also across an expiry takeover (no release in between).
        const expiring = await impl.acquire(resource, SHORT_TTL);
        expect(expiring.fencingToken).toBeGreaterThan(last);
        const next = await impl.acquire(resource, 5000, PATIENT);
        expect(next.fencingToken).toBeGreaterThan(expiring.fencingToken);
        await next.release();
      },
    },
  ];
}

/** Concurrent callers of one resource: one holder at a time. */
export function contentionChecks(): ConformanceCheck<DistributedLock>[] {
  return [
    {
      name: '50 concurrent withLock on one resource never overlap, all complete, tokens increase',
      timeoutMs: 60_000,
      async run(impl) {
        const resource = r();
        let active = 0;
        let overlaps = 0;
        let counter = 0;
        const tokens: number[] = [];
        const signal = AbortSignal.timeout(45_000);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            impl.withLock(
              resource,
              async (_signal, lock) => {
                active += 1;
                if (active > 1) overlaps += 1;
                tokens.push(lock.fencingToken);
                const read = counter;
                await sleep(Math.random() * 3);
                counter = read + 1;
                active -= 1;
                return i;
              },
              { ttlMs: 5000, retries: Number.POSITIVE_INFINITY, retryDelayMs: 20, jitterMs: 20, signal },
            ),
          ),
        );
        expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i));
        expect(overlaps).toBe(0);
        expect(counter).toBe(50);
        for (let i = 1; i < tokens.length; i++) {
          expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
        }
      },
    },
    {
      name: 'concurrent acquires of a free resource: exactly one wins',
      async run(impl) {
        const resource = r();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => impl.acquire(resource, 5000, { retries: 0 })),
        );
        const won = outcomes.filter((o): o is PromiseFulfilledResult<Lock> => o.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const o of outcomes) {
          if (o.status === 'rejected') expect(isInfrastructureError(o.reason, LOCK_TIMEOUT)).toBe(true);
        }
        await won[0]?.value.release();
      },
    },
  ];
}
