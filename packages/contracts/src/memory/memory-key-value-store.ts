import { ConflictError, InvalidArgumentError } from '../errors.js';
import type { IncrOptions, KeyValueStore, SetOptions } from '../ports/key-value.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';
const INTEGER = /^(0|-?[1-9][0-9]*)$/;

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

  constructor(options: MemoryKeyValueStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: string): Promise<string | null> {
    checkKey(key);
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    checkKey(key);
    checkValue(value, 'value');
    const ttlMs = checkTtl(options.ttlMs, 'set ttlMs');
    const mode = options.mode;
    if (mode !== undefined && mode !== 'NX' && mode !== 'XX') {
      throw new InvalidArgumentError(`${PREFIX} set mode must be 'NX' or 'XX'`);
    }
    const exists = this.#live(key) !== undefined;
    if ((mode === 'NX' && exists) || (mode === 'XX' && !exists)) return false;
    this.#entries.set(key, { value, expiresAt: this.#expiry(ttlMs) });
    return true;
  }

  async delete(...keys: string[]): Promise<number> {
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

  async incr(key: string, options: IncrOptions = {}): Promise<number> {
    checkKey(key);
    const by = options.by ?? 1;
    validate.integer(by, 'incr by', PREFIX);
    const ttlMs = checkTtl(options.ttlMs, 'incr ttlMs');
    const entry = this.#live(key);
    if (entry === undefined) {
      this.#entries.set(key, { value: String(by), expiresAt: this.#expiry(ttlMs) });
      return by;
    }
    if (!INTEGER.test(entry.value)) {
      throw new ConflictError(`${PREFIX} incr: the value is not an integer`);
    }
    const next = Number(entry.value) + by;
    if (!Number.isSafeInteger(Number(entry.value)) || !Number.isSafeInteger(next)) {
      throw new ConflictError(`${PREFIX} incr: the result would leave the safe integer range`);
    }
    entry.value = String(next);
    return next;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    checkKey(key);
    const ms = checkTtl(ttlMs, 'expire ttlMs', true);
    const entry = this.#live(key);
    if (entry === undefined) return false;
    entry.expiresAt = this.#expiry(ms);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    checkKey(key);
    const entry = this.#live(key);
    if (entry === undefined) return null;
    return entry.expiresAt === undefined ? Number.POSITIVE_INFINITY : entry.expiresAt - this.#clock.now();
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (!Array.isArray(keys)) throw new InvalidArgumentError(`${PREFIX} mget keys must be an array`);
    for (const key of keys) checkKey(key);
    return keys.map((key) => this.#live(key)?.value ?? null);
  }

  async mset(
    entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
    options: { ttlMs?: number } = {},
  ): Promise<void> {
    if (typeof entries !== 'object' || entries === null) {
      throw new InvalidArgumentError(`${PREFIX} mset entries must be an object or an array of pairs`);
    }
    const pairs: readonly (readonly [string, string])[] = Array.isArray(entries)
      ? (entries as readonly (readonly [string, string])[])
      : Object.entries(entries);
    for (const pair of pairs) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidArgumentError(`${PREFIX} mset entries must be [key, value] pairs`);
      }
      checkKey(pair[0]);
      checkValue(pair[1], 'mset value');
    }
    const ttlMs = checkTtl(options.ttlMs, 'mset ttlMs');
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

function checkKey(key: unknown): asserts key is string {
  validate.nonEmptyString(key, 'key', PREFIX);
}

function checkValue(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${PREFIX} ${what} must be a string`);
}

/** Validates an optional (or, with `required`, mandatory) TTL and rounds it up to whole ms. */
function checkTtl(ttlMs: unknown, what: string, required = false): number | undefined {
  if (ttlMs === undefined && !required) return undefined;
  validate.positiveMs(ttlMs, what, PREFIX);
  return Math.ceil(ttlMs);
}
