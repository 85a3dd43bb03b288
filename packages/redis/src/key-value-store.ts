import type { HealthReport } from '@voelgoed/contracts';
import {
  ConflictError,
  fieldsOf,
  type IncrOptions,
  isInfrastructureError,
  isWellFormed,
  type KeyValueStore,
  readList as readCallerList,
  readOptions as readCallerOptions,
  type SetOptions,
  validate,
} from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument, MESSAGE_PREFIX, RedisReplyError } from './errors.js';
import { onlyFields } from './options.js';
import { primitiveHealth } from './primitive-health.js';
import { defineScript } from './script.js';
import { keySlot } from './slots.js';

/**
 * INCRBY that refuses to leave the safe integer range (the port resolves a JS number, which
 * would be wrong past 2^53 - 1, and the in-memory store refuses the same) and, given a TTL
 * (ARGV[2], '' for none), sets it only when the increment created the key. The check is on
 * INCRBY's exact result (its double is past 2^53 - 1 exactly when the integer is), which is
 * taken back at once when outside (the script is atomic); a value that is not an integer is
 * left to INCRBY's own error. The result comes back as the stored text, not as an integer
 * reply: node-redis (the Cluster and Sentinel connections) reads integer replies above about
 * 2^53 - 57 one or more off (its digit loop rounds before it subtracts '0').
 */
const safeIncr = defineScript(
  `local existed = redis.call('EXISTS', KEYS[1]) == 1
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if math.abs(value) > 9007199254740991 then
  if existed then redis.call('DECRBY', KEYS[1], ARGV[1]) else redis.call('DEL', KEYS[1]) end
  return redis.error_reply('ERR increment or decrement would overflow the safe integer range')
end
if not existed and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])`,
  1,
);

/** Longest TTL, ms (as in the in-memory store): larger ones cannot be held exactly. */
const MAX_TTL_MS = Number.MAX_SAFE_INTEGER;

const readOptions = <F extends string>(options: unknown, fields: readonly F[], what: string) =>
  readCallerOptions(options, fields, what, MESSAGE_PREFIX);
const readList = <T>(list: unknown, what: string, check: (item: unknown, index: number) => T): T[] =>
  readCallerList(list, what, MESSAGE_PREFIX, check);

/** mset's entries as [key, value] pairs, unchecked: from an array of pairs or a plain object. */
function readPairs(entries: unknown): [unknown, unknown][] {
  if (entries === null || typeof entries !== 'object')
    throw invalidArgument('entries must be an object or an array of pairs');
  try {
    if (Array.isArray(entries)) {
      return readList(entries, 'entries', (pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2)
          throw invalidArgument(`entries[${i}] must be a [key, value] pair`);
        return [pair[0], pair[1]];
      });
    }
    const proto = Object.getPrototypeOf(entries);
    if (proto !== Object.prototype && proto !== null) {
      throw invalidArgument('entries must be an array of [key, value] pairs or a plain object');
    }
    return Object.entries(entries);
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw invalidArgument('entries could not be read');
  }
}

export interface RedisKeyValueStoreOptions {
  /** Prepended to every key (e.g. `app:`), so several stores can share a database. */
  keyPrefix?: string;
}

const STORE_FIELDS = fieldsOf<RedisKeyValueStoreOptions>()(['keyPrefix']);

/**
 * The contracts' {@link KeyValueStore} on a {@link RedisClient}: standalone, Sentinel or
 * Cluster. In a Cluster, multi-key calls (`delete`, `mget`, `mset`) whose keys span slots are
 * split into one command per key (so `mset` is then not atomic); with a shared `{hash tag}`
 * they go as one command.
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  #closed = false;

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('key-value', this.#client, this.#closed);
  }

  /**
   * Marks it closed: `health()` reports `down` and every call rejects with `INVALID_ARGUMENT`;
   * the client stays open: it is the caller's. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Refuses a call after {@link close}, before anything is sent. */
  #open(): void {
    if (this.#closed) throw invalidArgument('the key-value store is closed');
  }

  constructor(client: RedisClient, options: RedisKeyValueStoreOptions = {}) {
    this.#client = client;
    onlyFields(options, STORE_FIELDS, 'store options');
    this.#prefix = options.keyPrefix ?? '';
    if (typeof this.#prefix !== 'string') throw invalidArgument('keyPrefix must be a string');
  }

  /**
   * Keys and values go out as UTF-8, where a lone surrogate becomes U+FFFD: two keys would name
   * one object (and a Cluster would route it by the wrong slot), a value would not read back.
   */
  #key(key: unknown): string {
    validate.nonEmptyString(key, 'key', MESSAGE_PREFIX);
    if (!isWellFormed(key)) throw invalidArgument('key must not contain a lone surrogate');
    return this.#prefix + key;
  }

  #value(value: unknown): string {
    if (typeof value !== 'string') throw invalidArgument('value must be a string');
    if (!isWellFormed(value)) throw invalidArgument('value must not contain a lone surrogate');
    return value;
  }

  #ttl(ttlMs: unknown): number {
    validate.positiveMs(ttlMs, 'ttlMs', MESSAGE_PREFIX);
    const ms = Math.ceil(ttlMs);
    if (ms > MAX_TTL_MS) throw invalidArgument('ttlMs must be at most 2^53 - 1 ms');
    return ms;
  }

  /** True when the keys may go in one command (standalone, or one Cluster slot). */
  #oneCommand(keys: readonly string[]): boolean {
    const first = keys[0];
    if (this.#client.deployment !== 'cluster' || keys.length < 2 || first === undefined) return true;
    const slot = keySlot(first);
    return keys.every((k) => keySlot(k) === slot);
  }

  async get(key: string): Promise<string | null> {
    this.#open();
    const reply = await this.#client.command(['GET', this.#key(key)]);
    return reply === null ? null : String(reply);
  }

  async set(key: string, value: string, options?: SetOptions): Promise<boolean> {
    this.#open();
    const args: (string | number)[] = ['SET', this.#key(key), this.#value(value)];
    const { ttlMs, mode } = readOptions(options, ['ttlMs', 'mode'], 'options');
    if (ttlMs !== undefined) args.push('PX', this.#ttl(ttlMs));
    if (mode !== undefined) {
      if (mode !== 'NX' && mode !== 'XX') throw invalidArgument("mode must be 'NX' or 'XX'");
      args.push(mode);
    }
    return (await this.#client.command(args)) !== null;
  }

  async delete(...keys: string[]): Promise<number> {
    this.#open();
    const full = keys.map((k) => this.#key(k));
    if (full.length === 0) return 0;
    if (this.#oneCommand(full)) return Number(await this.#client.command(['DEL', ...full]));
    const counts = await Promise.all(full.map((k) => this.#client.command(['DEL', k])));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async incr(key: string, options?: IncrOptions): Promise<number> {
    this.#open();
    const full = this.#key(key);
    const o = readOptions(options, ['by', 'ttlMs'], 'options');
    const by = o.by ?? 1;
    validate.integer(by, 'by', MESSAGE_PREFIX);
    const ttl = o.ttlMs === undefined ? '' : this.#ttl(o.ttlMs);
    try {
      return Number(await safeIncr.run(this.#client, [full], [by, ttl]));
    } catch (error) {
      // Same code as the in-memory store, so business code can tell "not a counter" apart.
      if (error instanceof RedisReplyError && /not an integer|overflow/.test(error.message)) {
        throw new ConflictError(`${MESSAGE_PREFIX} incr: the value is not an integer (or would overflow)`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.#open();
    const full = this.#key(key);
    return Number(await this.#client.command(['PEXPIRE', full, this.#ttl(ttlMs)])) === 1;
  }

  async ttl(key: string): Promise<number | null> {
    this.#open();
    const ms = Number(await this.#client.command(['PTTL', this.#key(key)]));
    if (ms === -2) return null;
    if (ms === -1) return Number.POSITIVE_INFINITY;
    return ms;
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    this.#open();
    const full = readList(keys, 'keys', (k) => this.#key(k));
    if (full.length === 0) return [];
    const toValue = (v: unknown) => (v === null || v === undefined ? null : String(v));
    if (this.#oneCommand(full)) {
      const replies = (await this.#client.command(['MGET', ...full])) as unknown[];
      return replies.map(toValue);
    }
    return Promise.all(full.map(async (k) => toValue(await this.#client.command(['GET', k]))));
  }

  async mset(
    entries: Readonly<Record<string, string>> | readonly (readonly [string, string])[],
    options?: { ttlMs?: number },
  ): Promise<void> {
    this.#open();
    const full = readPairs(entries).map(([k, v]) => [this.#key(k), this.#value(v)] as const);
    const { ttlMs } = readOptions(options, ['ttlMs'], 'options');
    const ttl = ttlMs === undefined ? undefined : this.#ttl(ttlMs);
    if (full.length === 0) return;
    const setOne = ([k, v]: readonly [string, string]) =>
      ttl === undefined ? (['SET', k, v] as const) : (['SET', k, v, 'PX', ttl] as const);
    if (!this.#oneCommand(full.map(([k]) => k))) {
      await Promise.all(full.map((pair) => this.#client.command(setOne(pair))));
      return;
    }
    if (ttl === undefined) {
      await this.#client.command(['MSET', ...full.flat()]);
      return;
    }
    await this.#client.transaction(full.map(setOne));
  }
}

/** `createRedisKeyValueStore(client)`: the KeyValueStore port on Redis. */
export function createRedisKeyValueStore(
  client: RedisClient,
  options?: RedisKeyValueStoreOptions,
): RedisKeyValueStore {
  return new RedisKeyValueStore(client, options);
}
