import { randomUUID } from 'node:crypto';
import type { HealthReport } from '@voelgoed/contracts';
import { type Cache, type CacheCodec, type CacheLoader, InvalidArgumentError } from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import { LruMap } from './lru.js';
import { primitiveHealth } from './primitive-health.js';
import { defineScript } from './script.js';
import { cacheSettings, LONE_SURROGATE, type TieredCacheOptions, validTtl } from './tiered-cache-options.js';

export type { CacheCodec, CacheLoader, TieredCacheOptions };

/** L1 keeps the text, as L2 does: every hit decodes a copy, so no caller can change what is cached. */
interface L1Entry {
  text: string;
  freshUntil: number;
  staleUntil: number;
}

/** A load in flight; a `set` or `delete` of its key (here or, through pub/sub, elsewhere) supersedes it. */
interface Load<T> {
  promise: Promise<T | undefined>;
  superseded: boolean;
}

/** What L2 holds: its text, the value (absent when the codec cannot decode it), fresh and live ms left. */
interface L2Copy<T> {
  text: string;
  decoded: { value: T } | undefined;
  freshMs: number;
  liveMs: number;
}

/**
 * A reload writes only while the key still holds what the load read (a stale copy, or a value
 * the codec could not decode), so a write from another process since is never overwritten.
 */
const SET_IF_UNCHANGED = defineScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false",
  1,
);

/** Every call after `close()`: a caller's mistake, refused before anything is sent. */
function closedError(): InvalidArgumentError {
  return invalidArgument('the cache is closed');
}

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
  readonly #l1: LruMap<string, L1Entry>;
  readonly #loader: TieredCacheOptions<T>['loader'];
  readonly #codec: CacheCodec<T>;
  /** Reads on a miss (L2, then the loader), one per key. */
  readonly #inflight = new Map<string, Load<T>>();
  /** Reloads of stale values in the background, one per key. */
  readonly #refreshing = new Map<string, Load<T>>();
  readonly #instanceId = randomUUID();
  readonly #channel: string;
  #unsubscribe: (() => Promise<void>) | undefined;
  #started: Promise<void> | undefined;
  #closed = false;

  constructor(client: RedisClient, options: TieredCacheOptions<T>) {
    const settings = cacheSettings(options);
    this.#client = client;
    this.#namespace = settings.namespace;
    this.#ttlMs = settings.ttlMs;
    this.#jitter = settings.jitter;
    this.#swrMs = settings.swrMs;
    this.#l1TtlMs = settings.l1TtlMs;
    this.#l1 = new LruMap(settings.maxEntries);
    this.#loader = settings.loader;
    this.#codec = settings.codec;
    this.#channel = `voelgoed:cache:${this.#namespace}:invalidate`;
  }

  /**
   * Subscribes to invalidations from other processes. Called by the first operation if not
   * before; concurrent callers share one attempt, and a failed attempt is made again by the next.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#started) return this.#started;
    const attempt: Promise<void> = this.#client
      .subscribe(this.#channel, (message) => {
        const at = message.indexOf(' ');
        if (message.slice(0, at) === this.#instanceId) return;
        const key = message.slice(at + 1);
        this.#supersede(key);
        this.#l1.delete(key);
      })
      .then(
        async (unsubscribe) => {
          // Closed while subscribing: nobody will unsubscribe later.
          if (this.#closed) await unsubscribe().catch(() => {});
          else this.#unsubscribe = unsubscribe;
        },
        (error: unknown) => {
          if (this.#started === attempt) this.#started = undefined;
          throw error;
        },
      );
    this.#started = attempt;
    return attempt;
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
   * Resolves undefined when no tier has it and there is no loader or it returns undefined. A
   * stale value (in its stale-while-revalidate window) is served while one reload runs; a value
   * in Redis that the codec cannot decode is a miss (the loader's value replaces it).
   */
  async get(key: string, loader = this.#loader): Promise<T | undefined> {
    this.#validateKey(key);
    if (loader !== undefined && typeof loader !== 'function')
      throw invalidArgument('loader must be a function');
    if (this.#closed) throw closedError();
    await this.start();
    const entry = this.#l1.get(key);
    const now = Date.now();
    if (entry && entry.staleUntil > now) {
      if (entry.freshUntil <= now) this.#revalidate(key, loader);
      const hit = this.#decode(entry.text);
      if (hit) return hit.value;
      this.#l1.delete(key);
    }
    return this.#load(key, loader);
  }

  #load(key: string, loader: TieredCacheOptions<T>['loader']): Promise<T | undefined> {
    const running = this.#inflight.get(key);
    if (running) return running.promise;
    const load = { superseded: false } as Load<T>;
    load.promise = this.#read(key, loader, load).finally(() => {
      if (this.#inflight.get(key) === load) this.#inflight.delete(key);
    });
    this.#inflight.set(key, load);
    return load.promise;
  }

  async #read(key: string, loader: TieredCacheOptions<T>['loader'], load: Load<T>): Promise<T | undefined> {
    const copy = await this.#readL2(key);
    if (copy?.decoded) {
      if (!load.superseded) this.#remember(key, copy.text, copy.freshMs, copy.liveMs);
      if (copy.freshMs <= 0) this.#revalidate(key, loader, copy.text);
      return copy.decoded.value;
    }
    if (!loader) return undefined;
    return this.#fill(key, loader, load, copy?.text ?? null);
  }

  /** Reloads a stale value in the background, once per key; its failure leaves the stale value. */
  #revalidate(key: string, loader: TieredCacheOptions<T>['loader'], seen?: string | null): void {
    if (!loader || this.#closed || this.#refreshing.has(key)) return;
    const load = { superseded: false } as Load<T>;
    load.promise = (async () => {
      let current: string | null | undefined = seen;
      if (current === undefined) {
        // Another process may have reloaded it already.
        const copy = await this.#readL2(key);
        if (copy?.decoded && copy.freshMs > 0) {
          if (!load.superseded) this.#remember(key, copy.text, copy.freshMs, copy.liveMs);
          return copy.decoded.value;
        }
        current = copy?.text ?? null;
      }
      return this.#fill(key, loader, load, current);
    })()
      .catch(() => undefined)
      .finally(() => {
        if (this.#refreshing.get(key) === load) this.#refreshing.delete(key);
      });
    this.#refreshing.set(key, load);
  }

  /** The text, value and remaining lifetime of `key` in Redis; null when it holds none. */
  async #readL2(key: string): Promise<L2Copy<T> | null> {
    const redisKey = this.#redisKey(key);
    const [text, pttlReply] = await Promise.all([
      this.#client.command<string | null>(['GET', redisKey]),
      this.#client.command(['PTTL', redisKey]),
    ]);
    const pttl = Number(pttlReply);
    if (text === null || pttl === -2) return null;
    // Another writer's value, or one from before a codec change, is a miss, which a load repairs.
    const decoded = this.#decode(text);
    // Written with a lifetime of ttl + staleWhileRevalidateMs: fresh until the last swr ms.
    if (pttl < 0)
      return { text, decoded, freshMs: Number.POSITIVE_INFINITY, liveMs: Number.POSITIVE_INFINITY };
    return { text, decoded, freshMs: pttl - this.#swrMs, liveMs: pttl };
  }

  /**
   * Calls the loader and stores its value, unless a `set` or `delete` of the key came since the
   * load started (`load.superseded`) or L2 no longer holds `seen` (what the load read there).
   */
  async #fill(
    key: string,
    loader: CacheLoader<T>,
    load: Load<T>,
    seen: string | null,
  ): Promise<T | undefined> {
    const value = await loader(key);
    if (value === undefined) return undefined;
    const text = this.#encode(value);
    if (!load.superseded && !this.#closed) {
      const ttl = this.#ttlWithJitter();
      const px = ttl + this.#swrMs;
      const reply =
        seen === null
          ? await this.#client.command(['SET', this.#redisKey(key), text, 'PX', px, 'NX'])
          : await SET_IF_UNCHANGED.run(this.#client, [this.#redisKey(key)], [seen, text, px]);
      if (!load.superseded) {
        if (reply === null) this.#l1.delete(key);
        else this.#remember(key, text, ttl, px);
      }
    }
    // Decoded, as from either tier: a value reads the same however it was found.
    return (this.#decode(text) ?? { value }).value;
  }

  /** The decoded value, undefined when the codec throws. */
  #decode(text: string): { value: T } | undefined {
    try {
      return { value: this.#codec.decode(text) };
    } catch {
      return undefined;
    }
  }

  /** Keeps `text` in L1: fresh for `freshMs` (at most l1.ttlMs), served stale until `liveMs`. */
  #remember(key: string, text: string, freshMs: number, liveMs: number): void {
    const now = Date.now();
    const fresh = Math.max(0, Math.min(freshMs, this.#l1TtlMs));
    this.#l1.set(key, {
      text,
      freshUntil: now + fresh,
      staleUntil: now + Math.min(liveMs, fresh + this.#swrMs),
    });
  }

  /** Loads of `key` in flight keep their value to themselves: a write that came after them wins. */
  #supersede(key: string): void {
    for (const loads of [this.#inflight, this.#refreshing]) {
      const load = loads.get(key);
      if (load) {
        load.superseded = true;
        loads.delete(key);
      }
    }
  }

  /** Writes a value to both tiers and drops it from every other process's L1. It wins over loads in flight. */
  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    this.#validateKey(key);
    if (ttlMs !== undefined && !validTtl(ttlMs)) {
      throw invalidArgument('ttlMs must be a finite number > 0, at most 2^53 - 1');
    }
    const text = this.#encode(value);
    if (this.#closed) throw closedError();
    this.#supersede(key);
    this.#l1.delete(key);
    await this.start();
    const ttl = ttlMs === undefined ? this.#ttlWithJitter() : Math.ceil(ttlMs); // PX takes whole ms
    await this.#client.command(['SET', this.#redisKey(key), text, 'PX', ttl + this.#swrMs]);
    this.#remember(key, text, ttl, ttl + this.#swrMs);
    await this.#client.publish(this.#channel, `${this.#instanceId} ${key}`);
  }

  /** Removes a value from both tiers, here and in every other process. It wins over loads in flight. */
  async delete(key: string): Promise<void> {
    this.#validateKey(key);
    if (this.#closed) throw closedError();
    this.#supersede(key);
    this.#l1.delete(key);
    await this.start();
    await this.#client.command(['DEL', this.#redisKey(key)]);
    await this.#client.publish(this.#channel, `${this.#instanceId} ${key}`);
  }

  /** Whether L1 holds `key` (fresh or stale), for tests and diagnostics. */
  hasLocal(key: string): boolean {
    return this.#l1.get(key) !== undefined;
  }

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('cache', this.#client, this.#closed);
  }

  /**
   * Stops listening for invalidations and empties L1 (the client stays open: it is the caller's);
   * later calls reject with INVALID_ARGUMENT. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const loads of [this.#inflight, this.#refreshing]) {
      for (const load of loads.values()) load.superseded = true;
      loads.clear();
    }
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
