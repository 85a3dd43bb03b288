import type { Resource } from './health.js';

/** Loads a value on a cache miss; resolve `undefined` to cache nothing. */
export type CacheLoader<T> = (key: string) => Promise<T | undefined>;

/** Turns cached values into strings and back (default JSON). */
export interface CacheCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/**
 * The swappable face of a read-through cache (the tiered Redis cache, or in memory for tests).
 * Values go through a codec (JSON by default), so what comes back is equal to what was stored,
 * not the same object. `undefined` means "not cached" and cannot be stored. Concurrent misses
 * of one key call the loader once. Keys are non-empty strings; TTLs are positive finite ms.
 * Bad input rejects with `InvalidArgumentError`; a loader's own error reaches the caller as it is.
 */
export interface Cache<T> extends Resource {
  /**
   * The value of `key`, else what `loader` (or the cache's default loader) resolves, which is
   * then cached; `undefined` when there is none.
   */
  get(key: string, loader?: CacheLoader<T>): Promise<T | undefined>;
  /** Stores `value` for `ttlMs` (default: the cache's TTL). */
  set(key: string, value: T, ttlMs?: number): Promise<void>;
  /** Removes `key` (everywhere the cache keeps it). */
  delete(key: string): Promise<void>;
}
