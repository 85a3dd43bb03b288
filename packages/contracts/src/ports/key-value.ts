import type { Resource } from './health.js';

/** Options of {@link KeyValueStore.set}. */
export interface SetOptions {
  /** Expire the key after this many ms (a positive finite number). Without it the key has no expiry. */
  ttlMs?: number;
  /** `NX`: only set when the key does not exist; `XX`: only when it does. */
  mode?: 'NX' | 'XX';
}

/** Options of {@link KeyValueStore.incr}. */
export interface IncrOptions {
  /** Integer to add (default 1; may be negative). */
  by?: number;
  /** Sets this TTL (ms) when the increment created the key; an existing key keeps its expiry. */
  ttlMs?: number;
}

/**
 * The swappable face of a key-value store such as Redis: string values, TTLs in milliseconds.
 * Keys are non-empty strings; bad input rejects with `InvalidArgumentError`.
 */
export interface KeyValueStore extends Resource {
  /** The value, or `null` when the key does not exist (or has expired). */
  get(key: string): Promise<string | null>;
  /** Stores `value`. Resolves `false` when an `NX`/`XX` condition kept it from being set. A plain set clears any TTL. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes the keys; resolves with how many existed. */
  delete(...keys: string[]): Promise<number>;
  /**
   * Adds `by` (default 1) to the integer at `key` (a missing key counts as 0) and resolves with
   * the new value. A value that is not an integer rejects with an `InfrastructureError`.
   */
  incr(key: string, options?: IncrOptions): Promise<number>;
  /** Sets the key's TTL to `ttlMs`; resolves `false` when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining TTL in ms; `Infinity` for a key without expiry; `null` for a missing key. */
  ttl(key: string): Promise<number | null>;
  /** Values of `keys` in order, `null` where missing. */
  mget(keys: readonly string[]): Promise<(string | null)[]>;
  /** Sets every entry (atomically where the store can), optionally all with one TTL. */
  mset(
    entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
    options?: { ttlMs?: number },
  ): Promise<void>;
}
