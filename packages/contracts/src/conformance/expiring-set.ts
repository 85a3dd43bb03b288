import type { ExpiringSet } from '../ports/expiring-set.js';
import { invalidArgumentChecks } from './expiring-set-arguments.js';
import { expiringSetBadInputCheck } from './expiring-set-bad-input.js';
import { expiryChecks } from './expiring-set-expiry.js';
import { addChecks, memberChecks } from './expiring-set-members.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ConformanceCheck, type ConformanceOptions, describeSuite } from './shared.js';

// The ExpiringSet suite is split by topic, one file each (expiring-set-<topic>.ts); this file
// composes the topics in order.

/** Options of {@link describeExpiringSet}. */
export type ExpiringSetConformanceOptions<T extends ExpiringSet = ExpiringSet> = ConformanceOptions<T>;

/**
 * The checks of {@link describeExpiringSet}, each a named `(set) => Promise<void>`. The factory
 * must give an empty set per test (a random key on a shared server).
 */
export const expiringSetChecks: readonly ConformanceCheck<ExpiringSet>[] = [
  ...addChecks(),
  ...memberChecks(),
  ...expiryChecks(),
  ...invalidArgumentChecks(),
  expiringSetBadInputCheck(),
  ...lifecycleChecks<ExpiringSet>((set) => set),
];

/**
 * Registers the {@link ExpiringSet} conformance suite: every implementation (Redis, in memory)
 * must pass it. The factory gives an empty set per test. Real time with TTLs of 150 ms.
 *
 * @example
 * describeExpiringSet('ExpiringSet on Redis', () => new ExpiringSet(client, `test:${randomUUID()}`));
 */
export function describeExpiringSet<T extends ExpiringSet>(
  factory: () => T | Promise<T>,
  options?: ExpiringSetConformanceOptions<T>,
): void;
export function describeExpiringSet<T extends ExpiringSet>(
  name: string,
  factory: () => T | Promise<T>,
  options?: ExpiringSetConformanceOptions<T>,
): void;
export function describeExpiringSet(...args: unknown[]): void {
  describeSuite<ExpiringSet>('describeExpiringSet', 'ExpiringSet conformance', expiringSetChecks, args);
}
