import type { KeyValueStore } from '../ports/key-value.js';
import { invalidArgumentChecks } from './key-value-store-arguments.js';
import { keyValueStoreBadInputCheck } from './key-value-store-bad-input.js';
import { expiryChecks } from './key-value-store-expiry.js';
import { incrChecks } from './key-value-store-incr.js';
import { multiKeyChecks } from './key-value-store-many.js';
import { setChecks, setModeChecks } from './key-value-store-set.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ConformanceCheck, type ConformanceOptions, describeSuite } from './shared.js';

// The KeyValueStore suite is split by topic, one file each (key-value-store-<topic>.ts); this
// file composes the topics in order.

/** Options of {@link describeKeyValueStore}. */
export type KeyValueStoreConformanceOptions<T extends KeyValueStore = KeyValueStore> = ConformanceOptions<T>;

/**
 * The checks of {@link describeKeyValueStore}, each a named `(impl) => Promise<void>`. The
 * names are stable: tests may pick checks by name (see `findCheck`).
 */
export const keyValueStoreChecks: readonly ConformanceCheck<KeyValueStore>[] = [
  ...setChecks(),
  ...setModeChecks(),
  ...multiKeyChecks(),
  ...incrChecks(),
  ...expiryChecks(),
  ...invalidArgumentChecks(),
  keyValueStoreBadInputCheck(),
  ...lifecycleChecks<KeyValueStore>((store) => store),
];

/**
 * Registers the {@link KeyValueStore} conformance suite: every implementation (Redis, in
 * memory) must pass it. Uses real time with short TTLs and random keys.
 *
 * @example
 * describeKeyValueStore('RedisKeyValueStore', () => new RedisKeyValueStore(client));
 */
export function describeKeyValueStore<T extends KeyValueStore>(
  factory: () => T | Promise<T>,
  options?: KeyValueStoreConformanceOptions<T>,
): void;
export function describeKeyValueStore<T extends KeyValueStore>(
  name: string,
  factory: () => T | Promise<T>,
  options?: KeyValueStoreConformanceOptions<T>,
): void;
export function describeKeyValueStore(...args: unknown[]): void {
  describeSuite<KeyValueStore>(
    'describeKeyValueStore',
    'KeyValueStore conformance',
    keyValueStoreChecks,
    args,
  );
}
