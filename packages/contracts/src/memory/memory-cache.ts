import { isWellFormed, MAX_TTL_MS, readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { Cache, CacheCodec, CacheLoader } from '../ports/cache.js';
import type { HealthReport } from '../ports/health.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';

/** Options of {@link MemoryCache}. */
export interface MemoryCacheOptions<T> {
  /** Time a value stays fresh (default 60000 ms). */
  ttlMs?: number;
  /** After going stale a value is still served this long while one reload runs (default 0). */
  staleWhileRevalidateMs?: number;
  /** Loads a value on a miss when `get` is given no loader. */
  loader?: CacheLoader<T>;
  /** Turns values into text and back (default JSON): every `get` decodes a fresh copy. */
  codec?: CacheCodec<T>;
  /** Time source (default {@link systemClock}); pass a `ManualClock` to move time by hand. */
  clock?: Clock;
}

interface Entry {
  text: string;
  freshUntil: number;
  staleUntil: number;
}

/** A load in flight; a `set` or `delete` of its key supersedes it (the loaded value is not stored). */
interface Load<T> {
  promise: Promise<T | undefined>;
  superseded: boolean;
}

const jsonCodec: CacheCodec<never> = {
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text) as never,
};

/**
 * An in-memory {@link Cache} that behaves like the tiered Redis cache seen from one process:
 * read-through with a loader, single-flight misses, TTLs, stale-while-revalidate, and values
 * stored encoded (JSON by default), so a test sees what a value looks like after the trip
 * through Redis (a `Date` comes back a string) and never shares an object with the cache.
 */
export class MemoryCache<T> implements Cache<T> {
  readonly #ttlMs: number;
  readonly #swrMs: number;
  readonly #loader: CacheLoader<T> | undefined;
  readonly #codec: CacheCodec<T>;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Load<T>>();

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('cache', this.#closed);
  }

  /**
   * Marks it closed: `health()` reports `down` from then on, and `get`, `set` and `delete` reject
   * with INVALID_ARGUMENT. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const load of this.#inflight.values()) load.superseded = true;
    this.#inflight.clear();
    this.#entries.clear();
  }

  constructor(options: MemoryCacheOptions<T> = {}) {
    const o = readOptions(
      options,
      ['ttlMs', 'staleWhileRevalidateMs', 'loader', 'codec', 'clock'],
      'cache options',
      PREFIX,
    );
    this.#ttlMs = checkTtl(o.ttlMs ?? 60_000, 'ttlMs');
    const swr = o.staleWhileRevalidateMs ?? 0;
    if (swr !== 0) checkTtl(swr, 'staleWhileRevalidateMs');
    this.#swrMs = Math.ceil(swr as number);
    this.#loader = checkLoader<T>(o.loader);
    const codec = (o.codec as CacheCodec<T> | undefined) ?? (jsonCodec as CacheCodec<T>);
    if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
      throw new InvalidArgumentError(`${PREFIX} codec must have encode and decode functions`);
    }
    this.#codec = codec;
    this.#clock = (o.clock as Clock | undefined) ?? systemClock;
  }

  async get(key: string, loader?: CacheLoader<T>): Promise<T | undefined> {
    checkKey(key);
    const load = checkLoader<T>(loader) ?? this.#loader;
    this.#checkOpen();
    const now = this.#clock.now();
    const entry = this.#entries.get(key);
    if (entry && entry.freshUntil > now) return this.#codec.decode(entry.text);
    if (entry && entry.staleUntil > now) {
      void this.#load(key, load).catch(() => {});
      return this.#codec.decode(entry.text);
    }
    if (entry) this.#entries.delete(key);
    return this.#load(key, load);
  }

  async set(key: string, value: T, ttlMs?: number): Promise<void> {
    checkKey(key);
    const ttl = ttlMs === undefined ? this.#ttlMs : checkTtl(ttlMs, 'ttlMs');
    const text = this.#encode(value);
    this.#checkOpen();
    this.#supersede(key);
    this.#store(key, text, ttl);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.#checkOpen();
    this.#supersede(key);
    this.#entries.delete(key);
  }

  #checkOpen(): void {
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the cache is closed`);
  }

  /** A write wins over the loads of its key in flight: they keep their value to themselves. */
  #supersede(key: string): void {
    const load = this.#inflight.get(key);
    if (load) {
      load.superseded = true;
      this.#inflight.delete(key);
    }
  }

  /** Keys that hold a value (fresh or stale). For assertions in tests. */
  keys(): string[] {
    const now = this.#clock.now();
    for (const [key, entry] of this.#entries) if (entry.staleUntil <= now) this.#entries.delete(key);
    return [...this.#entries.keys()];
  }

  /** Removes every value. */
  clear(): void {
    this.#entries.clear();
  }

  #load(key: string, loader: CacheLoader<T> | undefined): Promise<T | undefined> {
    if (loader === undefined) return Promise.resolve(undefined);
    const running = this.#inflight.get(key);
    if (running) return running.promise;
    const entry = { superseded: false } as Load<T>;
    entry.promise = (async () => {
      const value = await loader(key);
      if (value === undefined) return undefined;
      const text = this.#encode(value);
      if (!entry.superseded) this.#store(key, text, this.#ttlMs);
      return this.#codec.decode(text);
    })().finally(() => {
      if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
    });
    this.#inflight.set(key, entry);
    return entry.promise;
  }

  #store(key: string, text: string, ttlMs: number): void {
    const now = this.#clock.now();
    this.#entries.set(key, { text, freshUntil: now + ttlMs, staleUntil: now + ttlMs + this.#swrMs });
  }

  /** The value as text; `undefined`, and what the codec cannot encode, are INVALID_ARGUMENT. */
  #encode(value: unknown): string {
    if (value === undefined) throw new InvalidArgumentError(`${PREFIX} value must not be undefined`);
    let text: unknown;
    try {
      text = this.#codec.encode(value as T);
    } catch (error) {
      throw new InvalidArgumentError(`${PREFIX} value could not be encoded`, { cause: error });
    }
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(`${PREFIX} value could not be encoded (the codec gave no string)`);
    }
    return text;
  }
}

function checkKey(key: unknown): asserts key is string {
  validate.nonEmptyString(key, 'key', PREFIX);
  if (!isWellFormed(key)) throw new InvalidArgumentError(`${PREFIX} key must not contain a lone surrogate`);
}

function checkLoader<T>(loader: unknown): CacheLoader<T> | undefined {
  if (loader === undefined) return undefined;
  if (typeof loader !== 'function') throw new InvalidArgumentError(`${PREFIX} loader must be a function`);
  return loader as CacheLoader<T>;
}

function checkTtl(ttlMs: unknown, what: string): number {
  validate.positiveMs(ttlMs, what, PREFIX);
  const ms = Math.ceil(ttlMs);
  if (ms > MAX_TTL_MS) throw new InvalidArgumentError(`${PREFIX} ${what} must be at most 2^53 - 1 ms`);
  return ms;
}
