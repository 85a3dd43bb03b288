import { type CacheCodec, type CacheLoader, fieldsOf } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';
import { onlyFields } from './options.js';

export const LONE_SURROGATE = /\p{Cs}/u;
const MAX_MS = Number.MAX_SAFE_INTEGER;

/** A TTL: a finite number > 0 whose whole ms fit in 2^53 - 1. */
export function validTtl(ttlMs: unknown): ttlMs is number {
  return typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0 && Math.ceil(ttlMs) <= MAX_MS;
}

export interface TieredCacheOptions<T> {
  /** Namespace of the Redis keys and of the invalidation channel. */
  namespace: string;
  /** Time a value stays fresh, in L2 (Redis) and L1 [60000 ms]. */
  ttlMs?: number;
  /** Up to this fraction of `ttlMs` is added at random, so entries do not all expire at once [0.1]. */
  jitter?: number;
  /**
   * After going stale a value is still served this long while one reload runs in the background
   * [0]. Redis keeps a value for ttl + this; every instance sharing a namespace should use the same.
   */
  staleWhileRevalidateMs?: number;
  /** In-process L1: how many entries [1000] and how long they stay fresh at most [ttlMs]. */
  l1?: { maxEntries?: number; ttlMs?: number };
  /** Loads a value on a miss in both tiers; `get` can also take one. Resolve `undefined` to cache nothing. */
  loader?: CacheLoader<T>;
  /** Turns values into strings for Redis and back [JSON]. */
  codec?: CacheCodec<T>;
}

/** The options, checked, with their defaults. */
export interface CacheSettings<T> {
  namespace: string;
  ttlMs: number;
  jitter: number;
  /** Whole ms (PX takes whole ms). */
  swrMs: number;
  maxEntries: number;
  /** At most `ttlMs`. */
  l1TtlMs: number;
  loader: CacheLoader<T> | undefined;
  codec: CacheCodec<T>;
}

const CACHE_FIELDS = fieldsOf<TieredCacheOptions<unknown>>()([
  'namespace',
  'ttlMs',
  'jitter',
  'staleWhileRevalidateMs',
  'l1',
  'loader',
  'codec',
]);
const L1_FIELDS = fieldsOf<NonNullable<TieredCacheOptions<unknown>['l1']>>()(['maxEntries', 'ttlMs']);

const jsonCodec: CacheCodec<never> = {
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as never,
};

/** Checks `options` (INVALID_ARGUMENT on the first mistake) and fills in the defaults. */
export function cacheSettings<T>(options: TieredCacheOptions<T>): CacheSettings<T> {
  onlyFields(options, CACHE_FIELDS, 'cache options');
  onlyFields(options?.l1, L1_FIELDS, 'cache options: l1');
  if (!options || typeof options.namespace !== 'string' || options.namespace === '') {
    throw invalidArgument('namespace must be a non-empty string');
  }
  // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'a\uD800' would share the keys of 'a\uFFFD'.
  if (LONE_SURROGATE.test(options.namespace))
    throw invalidArgument('namespace must not contain a lone surrogate');
  const ttlMs = options.ttlMs ?? 60_000;
  if (!validTtl(ttlMs)) throw invalidArgument('ttlMs must be a finite number > 0, at most 2^53 - 1');
  const jitter = options.jitter ?? 0.1;
  if (!Number.isFinite(jitter) || jitter < 0 || jitter > 1)
    throw invalidArgument('jitter must be between 0 and 1');
  const swr = options.staleWhileRevalidateMs ?? 0;
  if (swr !== 0 && !validTtl(swr)) {
    throw invalidArgument('staleWhileRevalidateMs must be a finite number >= 0, at most 2^53 - 1');
  }
  const maxEntries = options.l1?.maxEntries ?? 1000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw invalidArgument('l1.maxEntries must be an integer >= 1');
  const l1TtlMs = options.l1?.ttlMs ?? ttlMs;
  if (!validTtl(l1TtlMs)) throw invalidArgument('l1.ttlMs must be a finite number > 0, at most 2^53 - 1');
  if (options.loader !== undefined && typeof options.loader !== 'function') {
    throw invalidArgument('loader must be a function');
  }
  const codec = options.codec ?? (jsonCodec as CacheCodec<T>);
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw invalidArgument('codec must be an object with encode and decode functions');
  }
  return {
    namespace: options.namespace,
    ttlMs,
    jitter,
    swrMs: Math.ceil(swr),
    maxEntries,
    l1TtlMs: Math.min(l1TtlMs, ttlMs),
    loader: options.loader,
    codec,
  };
}
