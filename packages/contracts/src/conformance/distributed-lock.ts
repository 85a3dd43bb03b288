import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { DistributedLock, Lock } from '../ports/lock.js';
import { expect } from './assert.js';
import { distributedLockBadInputCheck } from './distributed-lock-bad-input.js';
import { lifecycleChecks } from './lifecycle.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeSuite,
  expectInfrastructureError,
  randomKey,
  sleep,
} from './shared.js';

/** Options of {@link describeDistributedLock}. */
export type DistributedLockConformanceOptions<T extends DistributedLock = DistributedLock> =
  ConformanceOptions<T>;

/** Short TTL used where a test waits for expiry (real time: adapters on real servers run these). */
const SHORT_TTL = 150;
/** Comfortably past {@link SHORT_TTL}. */
const PAST_SHORT_TTL = 400;
/**
 * TTL of the renewal check. With {@link SHORT_TTL} (renewed every ~50 ms) an event-loop stall of
 * ~100 ms, which a busy machine running several suites at once gives, lost the lock; at 600 ms a
 * clean-clone run on a loaded machine still lost it once. A lock renewed at a third of 2 s
 * survives any stall under ~1.3 s.
 */
const RENEWED_TTL = 2_000;
/** Retry settings that wait up to a few seconds, polling often. */
const PATIENT = { retries: 200, retryDelayMs: 20, jitterMs: 10 } as const;

const { INVALID_ARGUMENT, LOCK_LOST, LOCK_TIMEOUT } = ErrorCodes;

// One {hash tag} for every name: a Cluster-backed lock can then lock several of them together.
const r = () => randomKey('{conformance}:lock');

/** Asserts that nobody can take `resource` right now (a single attempt fails with LOCK_TIMEOUT). */
async function expectLocked(impl: DistributedLock, resource: string): Promise<void> {
  await expectInfrastructureError(impl.acquire(resource, 1000, { retries: 0 }), LOCK_TIMEOUT);
}

/** Asserts that `resource` is free right now (a single attempt succeeds), leaving it free. */
async function expectFree(impl: DistributedLock, resource: string): Promise<void> {
  const lock = await impl.acquire(resource, 1000, { retries: 0 });
  await lock.release();
}

/**
 * The checks of {@link describeDistributedLock}, each a named `(impl) => Promise<void>`. The
 * names are stable: tests may pick checks by name (see `findCheck`).
 */
export const distributedLockChecks: readonly ConformanceCheck<DistributedLock>[] = [
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
      await holder.release();
      await sleep(50);
      await expectFree(impl, resource);
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
  distributedLockBadInputCheck(),
  ...lifecycleChecks<DistributedLock>((lock) => lock),
];

/**
 * Registers the {@link DistributedLock} conformance suite: every implementation (Redlock, in
 * memory) must pass it. Uses real time with short TTLs and random resource names.
 *
 * @example
 * describeDistributedLock('RedisLock', () => createRedisLock({ clients }), { teardown: (l) => l.close() });
 */
export function describeDistributedLock<T extends DistributedLock>(
  factory: () => T | Promise<T>,
  options?: DistributedLockConformanceOptions<T>,
): void;
export function describeDistributedLock<T extends DistributedLock>(
  name: string,
  factory: () => T | Promise<T>,
  options?: DistributedLockConformanceOptions<T>,
): void;
export function describeDistributedLock(...args: unknown[]): void {
  describeSuite<DistributedLock>(
    'describeDistributedLock',
    'DistributedLock conformance',
    distributedLockChecks,
    args,
  );
}
