import type { DistributedLock } from '../ports/lock.js';
import { abortChecks, acquireChecks, waitChecks } from './distributed-lock-acquire.js';
import { invalidArgumentChecks } from './distributed-lock-arguments.js';
import { distributedLockBadInputCheck } from './distributed-lock-bad-input.js';
import { contentionChecks, fencingChecks } from './distributed-lock-contention.js';
import { expiryChecks, extendChecks } from './distributed-lock-expiry.js';
import { multiResourceChecks } from './distributed-lock-multi.js';
import { releaseChecks } from './distributed-lock-release.js';
import {
  withLockRenewalChecks,
  withLockResourceChecks,
  withLockResultChecks,
} from './distributed-lock-with-lock.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ConformanceCheck, type ConformanceOptions, describeSuite } from './shared.js';

// The DistributedLock suite is split by topic, one file each (distributed-lock-<topic>.ts); this
// file composes the topics in order.

/** Options of {@link describeDistributedLock}. */
export type DistributedLockConformanceOptions<T extends DistributedLock = DistributedLock> =
  ConformanceOptions<T>;

/**
 * The checks of {@link describeDistributedLock}, each a named `(impl) => Promise<void>`. The
 * names are stable: tests may pick checks by name (see `findCheck`).
 */
export const distributedLockChecks: readonly ConformanceCheck<DistributedLock>[] = [
  ...acquireChecks(),
  ...waitChecks(),
  ...releaseChecks(),
  ...expiryChecks(),
  ...extendChecks(),
  ...fencingChecks(),
  ...multiResourceChecks(),
  ...abortChecks(),
  ...withLockResultChecks(),
  ...withLockResourceChecks(),
  ...withLockRenewalChecks(),
  ...contentionChecks(),
  ...invalidArgumentChecks(),
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
