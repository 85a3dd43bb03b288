import { randomUUID } from 'node:crypto';
import type { HealthReport } from '@voelgoed/contracts';
import {
  type Cache,
  type CacheCodec,
  type CacheLoader,
  fieldsOf,
  InvalidArgumentError,
} from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import { LruMap } from './lru.js';
import { onlyFields } from './options.js';
import { primitiveHealth } from './primitive-health.js';

/** Turns values into strings for Redis and back [JSON]. */
export type { CacheCodec, CacheLoader };

const LONE_SURROGATE = /\p{Cs}/u;
const MAX_MS = Number.MAX_SAFE_INTEGER;

function validTtl(ttlMs: unknown): ttlMs is number {
  return typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0 && Math.ceil(ttlMs) <= MAX_MS;
}

export interface TieredCacheOptions<T> {
  /** Namespace of the Redis keys and of the invalidation channel. */
  namespace: string;
  /** Time a value stays fresh, in L2 (Redis) and L1 [60000 ms]. */
  ttlMs?: number;
  /** Up to this fraction of `ttlMs` is added at random, so entries do not all expire at once [0.1]. */
  jitter?: number;
  /** After going stale a value is still served this long while one refresh runs in the background [0]. */
  staleWhileRevalidateMs?: number;
  /** In-process L1: how many entries [1000] and how long they live at most [ttlMs]. */
  l1?: { maxEntries?: number; ttlMs?: number };
  /** Loads a value on a miss in both tiers; `get` can also take one. Resolve `undefined` to cache nothing. */
  loader?: CacheLoader<T>;
  codec?: CacheCodec<T>;
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

interface L1Entry<T> {
  value: T;
  freshUntil: number;
  staleUntil: number;
}

const jsonCodec: CacheCodec<never> = {
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as never,
};

/** How long `close()` waits for the invalidation subscription to close, ms. */
const CLOSE_WAIT_MS = 2000;

/**
 * In-process LRU (L1) in front of Redis (L2) in front of a loader: single-flight per key (a
 * stampede of concurrent misses calls the loader once), TTL with jitter, stale-while-revalidate,
 * and L1 invalidation across processes through pub/sub on every `set` and `delete`.
 * Implements the `Cache` port of `@voelgoed/contracts` (in memory: `MemoryCache`).
 */
export class TieredCache<T> implements Cache<T> {
  readonly #client: RedisClient;
  readonly #namespace: string;
  readonly #ttlMs: number;
  readonly #jitter: number;
  readonly #swrMs: number;
  readonly #l1TtlMs: number;
  readonly #l1: LruMap<string, L1Entry<T>>;
  readonly #loader: TieredCacheOptions<T>['loader'];
  readonly #codec: CacheCodec<T>;
  readonly #inflight = new Map<string, Promise<T | undefined>>();
  readonly #instanceId = randomUUID();
  readonly #channel: string;
  #unsubscribe: (() => Promise<void>) | undefined;
  #started: Promise<void> | undefined;

  constructor(client: RedisClient, options: TieredCacheOptions<T>) {
    onlyFields(options, CACHE_FIELDS, 'cache options');
    onlyFields(options?.l1, L1_FIELDS, 'cache options: l1');
    if (!options || typeof options.namespace !== 'string' || options.namespace === '') {
      throw invalidArgument('namespace must be a non-empty string');
    }
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
    this.#client = client;
    this.#namespace = options.namespace;
    this.#ttlMs = ttlMs;
    this.#jitter = jitter;
    this.#swrMs = Math.ceil(swr); // PX takes whole ms
    this.#l1TtlMs = Math.min(options.l1?.ttlMs ?? ttlMs, ttlMs);
    this.#l1 = new LruMap(maxEntries);
    if (options.loader !== undefined && typeof options.loader !== 'function') {
      throw invalidArgument('loader must be a function');
    }
    this.#loader = options.loader;
    this.#codec = options.codec ?? (jsonCodec as CacheCodec<T>);
    this.#channel = `voelgoed:cache:${this.#namespace}:invalidate`;
  }

  /** Subscribes to invalidations from other processes. Called by the first operation if not before. */
  start(): Promise<void> {
    this.#started ??= this.#client
      .subscribe(this.#channel, (message) => {
        const at = message.indexOf(' ');
        if (message.slice(0, at) !== this.#instanceId) this.#l1.delete(message.slice(at + 1));
      })
      .then((unsubscribe) => {
        this.#unsubscribe = unsubscribe;
      });
    return this.#started;
  }

  #redisKey(key: string): string {
    return `${this.#namespace}:${key}`;
  }

  #validateKey(key: unknown): asserts key is string {
    if (typeof key !== 'string' || key === '') throw invalidArgument('cache key must be a non-empty string');
    // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'a\uD800' would be the key 'a\uFFFD'.
    if (LONE_SURROGATE.test(key)) throw invalidArgument('cache key must not contain a lone surrogate');
  }

  /** The value as text; `undefined` (which means "not cached") and what the codec cannot encode are INVALID_ARGUMENT. */
  #encode(value: unknown): string {
    if (value === undefined) throw invalidArgument('cache value must not be undefined');
    let text: unknown;
    try {
      text = this.#codec.encode(value as T);
    } catch (error) {
      throw new InvalidArgumentError(`${MESSAGE_PREFIX} cache value could not be encoded`, { cause: error });
    }
    if (typeof text !== 'string')
      throw invalidArgument('cache value could not be encoded (the codec gave no string)');
    return text;
  }

  #ttlWithJitter(): number {
    return Math.ceil(this.#ttlMs * (1 + Math.random() * this.#jitter));
  }

  /**
   * The value of `key`: from L1, else Redis, else the loader (once for all concurrent callers).
   * Resolves undefined when no tier has it and there is no loader or it returns undefined.
   */
  async get(key: string, loader = this.#loader): Promise<T | undefined> {
    this.#validateKey(key);
    if (loader !== undefined && typeof loader !== 'function')
      throw invalidArgument('loader must be a function');
    await this.start();
    const now = Date.now();
    const entry = this.#l1.get(key);
    if (entry && entry.freshUntil > now) return entry.value;
    if (entry && entry.staleUntil > now) {
      void this.#load(key, loader).catch(() => {});
      return entry.value;
    }
    return this.#load(key, loader);
  }

  #load(key: string, loader: TieredCacheOptions<T>['loader']): Promise<T | undefined> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const promise = this.#loadOnce(key, loader).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #loadOnce(key: string, loader: TieredCacheOptions<T>['loader']): Promise<T | undefined> {
    const stored = await this.#client.command<string | null>(['GET', this.#redisKey(key)]);
    if (stored !== null) {
      const value = this.#codec.decode(stored);
      const pttl = Number(await this.#client.command(['PTTL', this.#redisKey(key)]));
      this.#remember(key, value, pttl > 0 ? pttl : this.#l1TtlMs);
      return value;
    }
    if (!loader) return undefined;
    const value = await loader(key);
    if (value === undefined) return undefined;
    const text = this.#encode(value);
    const ttl = this.#ttlWithJitter();
    await this.#client.command(['SET', this.#redisKey(key), text, 'PX', ttl + this.#swrMs]);
    // L1 holds what L2 would give back, so a value reads the same from either tier.
    const copy = this.#codec.decode(text);
    this.#remember(key, copy, ttl);
    return copy;
  }

  #remember(key: string, value: T, ttlMs: number): void {
    const now = Date.now();
    const fresh = Math.min(ttlMs, this.#l1TtlMs);
    this.#l1.set(key, { value, freshUntil: now + fresh, staleUntil: now + fresh + this.#swrMs });
  }

  /** Writes a value to both tiers and drops it from every other process's L1. */
  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    this.#validateKey(key);
    if (ttlMs !== undefined && !validTtl(ttlMs)) {
      throw invalidArgument('ttlMs must be a finite number > 0, at most 2^53 - 1');
    }
    const text = this.#encode(value);
    await this.start();
    const ttl = ttlMs === undefined ? this.#ttlWithJitter() : Math.ceil(ttlMs); // PX takes whole ms
    await this.#client.command(['SET', this.#redisKey(key), text, 'PX', ttl + this.#swrMs]);
    this.#remember(key, this.#codec.decode(text), ttl);
    await this.#client.publish(this.#channel, `${this.#instanceId} ${key}`);
  }

  /** Removes a value from both tiers, here and in every other process. */
  async delete(key: string): Promise<void> {
    this.#validateKey(key);
    await this.start();
    this.#l1.delete(key);
    await this.#client.command(['DEL', this.#redisKey(key)]);
    await this.#client.publish(this.#channel, `${this.#instanceId} ${key}`);
  }

  /** Whether L1 holds `key` (fresh or stale), for tests and diagnostics. */
  hasLocal(key: string): boolean {
    return this.#l1.get(key) !== undefined;
  }

  #closed = false;

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('cache', this.#client, this.#closed);
  }

  /** Stops listening for invalidations and empties L1 (the client stays open: it is the caller's). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#l1.clear();
    // A paused (SIGSTOPped) server never answers SUBSCRIBE or UNSUBSCRIBE: the wait is bounded,
    // and an abandoned unsubscribe ends with the client's own close.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      (async () => {
        await this.#started?.catch(() => {});
        const unsubscribe = this.#unsubscribe;
        this.#unsubscribe = undefined;
        await unsubscribe?.().catch(() => {});
      })(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_WAIT_MS);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    this.#l1.clear();
  }
}
