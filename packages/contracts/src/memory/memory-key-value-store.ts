import { isWellFormed, MAX_TTL_MS, readList, readOptions, readRecord } from '../caller-input.js';
import { ConflictError, InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type { IncrOptions, KeyValueStore, SetOptions } from '../ports/key-value.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';
const INTEGER = /^(0|-?[1-9][0-9]*)$/;
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Options of {@link MemoryKeyValueStore}. */
export interface MemoryKeyValueStoreOptions {
  /** Time source for TTLs (default {@link systemClock}); pass a `ManualClock` to move time by hand. */
  clock?: Clock;
}

interface Entry {
  value: string;
  /** Epoch ms (clock time) at which the key expires; undefined for no expiry. */
  expiresAt: number | undefined;
}

/**
 * An in-memory {@link KeyValueStore} that behaves like the Redis adapter: TTLs in ms (rounded up
 * to whole ms, as Redis does), NX/XX, INCR semantics (TTL only set when the increment creates the
 * key), and the same errors: `INVALID_ARGUMENT` for bad input, `CONFLICT` when `incr` meets a
 * value that is not an integer (or would leave the safe integer range).
 *
 * Expired keys are removed lazily, when touched, and by {@link MemoryKeyValueStore.size}.
 */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('key-value', this.#closed);
  }

  /** Marks it closed: `health()` reports `down`, and every call rejects with `INVALID_ARGUMENT`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Refuses a call after {@link close}, as the Redis store does. */
  #open(): void {
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the key-value store is closed`);
  }

  constructor(options: MemoryKeyValueStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: string): Promise<string | null> {
    this.#open();
    checkKey(key);
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    this.#open();
    checkKey(key);
    checkValue(value, 'value');
    const o = readOptions(options, ['ttlMs', 'mode'], 'set options', PREFIX);
    const ttlMs = checkTtl(o.ttlMs, 'set ttlMs');
    const mode = o.mode;
    if (mode !== undefined && mode !== 'NX' && mode !== 'XX') {
      throw new InvalidArgumentError(`${PREFIX} set mode must be 'NX' or 'XX'`);
    }
    const exists = this.#live(key) !== undefined;
    if ((mode === 'NX' && exists) || (mode === 'XX' && !exists)) return false;
    this.#entries.set(key, { value, expiresAt: this.#expiry(ttlMs) });
    return true;
  }

  async delete(...keys: string[]): Promise<number> {
    this.#open();
    for (const key of keys) checkKey(key);
    let deleted = 0;
    for (const key of keys) {
      if (this.#live(key) !== undefined) {
        this.#entries.delete(key);
        deleted += 1;
      }
    }
    return deleted;
  }

  async incr(key: string, options?: IncrOptions): Promise<number> {
    this.#open();
    checkKey(key);
    const o = readOptions(options, ['by', 'ttlMs'], 'incr options', PREFIX);
    const by = (o.by ?? 1) as number;
    validate.integer(by, 'incr by', PREFIX);
    const ttlMs = checkTtl(o.ttlMs, 'incr ttlMs');
    const entry = this.#live(key);
    if (entry === undefined) {
      this.#entries.set(key, { value: String(by), expiresAt: this.#expiry(ttlMs) });
      return by + 0; // -0 + 0 is 0, as Redis answers
    }
    if (!INTEGER.test(entry.value)) {
      throw new ConflictError(`${PREFIX} incr: the value is not an integer`);
    }
    // Exact, as Redis counts (64-bit integers): a stored value past 2^53 still counts when the
    // result is back inside the safe range the port resolves.
    const current = BigInt(entry.value);
    if (current > INT64_MAX || current < -INT64_MAX - 1n) {
      throw new ConflictError(`${PREFIX} incr: the value is not a 64-bit integer`);
    }
    const next = current + BigInt(by);
    if (next > SAFE_MAX || next < -SAFE_MAX) {
      throw new ConflictError(`${PREFIX} incr: the result would leave the safe integer range`);
    }
    entry.value = String(next);
    return Number(next);
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.#open();
    checkKey(key);
    const ms = checkTtl(ttlMs, 'expire ttlMs', true);
    const entry = this.#live(key);
    if (entry === undefined) return false;
    entry.expiresAt = this.#expiry(ms);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    this.#open();
    checkKey(key);
    const entry = this.#live(key);
    if (entry === undefined) return null;
    return entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : entry.expiresAt - this.#clock.now();
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    this.#open();
    const list = readList(keys, 'mget keys', PREFIX, (key) => {
      checkKey(key);
      return key;
    });
    return list.map((key) => this.#live(key)?.value ?? null);
  }

  async mset(
    entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
    options?: { ttlMs?: number },
  ): Promise<void> {
    this.#open();
    const pairs = readPairs(entries);
    const ttlMs = checkTtl(readOptions(options, ['ttlMs'], 'mset options', PREFIX).ttlMs, 'mset ttlMs');
    const expiresAt = this.#expiry(ttlMs);
    for (const [key, value] of pairs) this.#entries.set(key, { value, expiresAt });
  }

  /** Number of live keys (expired ones are swept first). For assertions in tests. */
  size(): number {
    for (const key of [...this.#entries.keys()]) this.#live(key);
    return this.#entries.size;
  }

  /** Live keys, in insertion order. For assertions in tests. */
  keys(): string[] {
    this.size();
    return [...this.#entries.keys()];
  }

  /** Removes every key. */
  clear(): void {
    this.#entries.clear();
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.#clock.now() + ttlMs;
  }
}

/** Keys and values are text that survives UTF-8 (as in Redis): a lone surrogate would not. */
function checkKey(key: unknown): asserts key is string {
  validate.nonEmptyString(key, 'key', PREFIX);
  if (!isWellFormed(key)) throw new InvalidArgumentError(`${PREFIX} key must not contain a lone surrogate`);
}

function checkValue(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${PREFIX} ${what} must be a string`);
  if (!isWellFormed(value))
    throw new InvalidArgumentError(`${PREFIX} ${what} must not contain a lone surrogate`);
}

/** Validates an optional (or, with `required`, mandatory) TTL and rounds it up to whole ms. */
function checkTtl(ttlMs: unknown, what: string, required = false): number | undefined {
  if (ttlMs === undefined && !required) return undefined;
  validate.positiveMs(ttlMs, what, PREFIX);
  const ms = Math.ceil(ttlMs);
  if (ms > MAX_TTL_MS) throw new InvalidArgumentError(`${PREFIX} ${what} must be at most 2^53 - 1 ms`);
  return ms;
}

/** mset's entries as checked [key, value] pairs: from an array of pairs or a plain object. */
function readPairs(entries: unknown): [string, string][] {
  const check = (key: unknown, value: unknown): [string, string] => {
    checkKey(key);
    checkValue(value, 'mset value');
    return [key, value];
  };
  if (typeof entries !== 'object' || entries === null) {
    throw new InvalidArgumentError(`${PREFIX} mset entries must be an object or an array of pairs`);
  }
  let isArray: boolean;
  try {
    isArray = Array.isArray(entries);
  } catch (error) {
    throw new InvalidArgumentError(`${PREFIX} mset entries could not be read`, { cause: error });
  }
  if (!isArray) return readRecord(entries, 'mset entries', PREFIX).map(([k, v]) => check(k, v));
  return readList(entries, 'mset entries', PREFIX, (pair, i) => {
    let key: unknown;
    let value: unknown;
    try {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidArgumentError(`${PREFIX} mset entries[${i}] must be a [key, value] pair`);
      }
      [key, value] = [pair[0], pair[1]];
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      throw new InvalidArgumentError(`${PREFIX} mset entries[${i}] could not be read`, { cause: error });
    }
    return check(key, value);
  });
}
