import type { Cache } from '../ports/cache.js';
import { invalidArgumentChecks } from './cache-arguments.js';
import { cacheBadInputCheck } from './cache-bad-input.js';
import { loaderChecks } from './cache-loader.js';
import { removalChecks, valueChecks } from './cache-values.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ConformanceCheck, type ConformanceOptions, describeSuite } from './shared.js';

// The Cache suite is split by topic, one file each (cache-<topic>.ts); this file composes the
// topics in order.

/** Options of {@link describeCache}. */
export type CacheConformanceOptions<T extends Cache<unknown> = Cache<unknown>> = ConformanceOptions<T>;

/**
 * The checks of {@link describeCache}, each a named `(cache) => Promise<void>`. The factory must
 * give a cache with the default codec (JSON), no default loader and a default TTL of at least
 * 10 s, whose keys no other test sees (a random namespace on a shared server).
 */
export const cacheChecks: readonly ConformanceCheck<Cache<unknown>>[] = [
  ...valueChecks(),
  ...loaderChecks(),
  ...removalChecks(),
  ...invalidArgumentChecks(),
  cacheBadInputCheck(),
  ...lifecycleChecks<Cache<unknown>>((cache) => cache),
];

/**
 * Registers the {@link Cache} conformance suite: every implementation (the tiered Redis cache,
 * in memory) must pass it. The factory gives a cache with the JSON codec, no default loader, a
 * default TTL of at least 10 s, and keys of its own. Real time with TTLs of 150 ms.
 *
 * @example
 * describeCache('TieredCache', () => new TieredCache(client, { namespace: randomUUID() }), {
 *   teardown: (cache) => cache.close(),
 * });
 */
export function describeCache<T extends Cache<unknown>>(
  factory: () => T | Promise<T>,
  options?: CacheConformanceOptions<T>,
): void;
export function describeCache<T extends Cache<unknown>>(
  name: string,
  factory: () => T | Promise<T>,
  options?: CacheConformanceOptions<T>,
): void;
export function describeCache(...args: unknown[]): void {
  describeSuite<Cache<unknown>>('describeCache', 'Cache conformance', cacheChecks, args);
}
