import {
  ConflictError,
  type IncrOptions,
  type KeyValueStore,
  type SetOptions,
  validate,
} from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument, MESSAGE_PREFIX, RedisReplyError } from './errors.js';
import { defineScript } from './script.js';
import { keySlot } from './slots.js';

/** INCRBY that sets a TTL only when the increment created the key. */
const incrWithTtl = defineScript(
  `local existed = redis.call('EXISTS', KEYS[1])
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`,
  1,
);

export interface RedisKeyValueStoreOptions {
  /** Prepended to every key (e.g. `app:`), so several stores can share a database. */
  keyPrefix?: string;
}

/**
 * The contracts' {@link KeyValueStore} on a {@link RedisClient}: standalone, Sentinel or
 * Cluster. In a Cluster, multi-key calls (`delete`, `mget`, `mset`) whose keys span slots are
 * split into one command per key (so `mset` is then not atomic); with a shared `{hash tag}`
 * they go as one command.
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(client: RedisClient, options: RedisKeyValueStoreOptions = {}) {
    this.#client = client;
    this.#prefix = options.keyPrefix ?? '';
    if (typeof this.#prefix !== 'string') throw invalidArgument('keyPrefix must be a string');
  }

  #key(key: unknown): string {
    validate.nonEmptyString(key, 'key', MESSAGE_PREFIX);
    return this.#prefix + key;
  }

  #value(value: unknown): string {
    if (typeof value !== 'string') throw invalidArgument('value must be a string');
    return value;
  }

  #ttl(ttlMs: unknown): number {
    validate.positiveMs(ttlMs, 'ttlMs', MESSAGE_PREFIX);
    return Math.ceil(ttlMs);
  }

  /** True when the keys may go in one command (standalone, or one Cluster slot). */
  #oneCommand(keys: readonly string[]): boolean {
    if (this.#client.deployment !== 'cluster' || keys.length < 2) return true;
    const slot = keySlot(keys[0]!);
    return keys.every((k) => keySlot(k) === slot);
  }

  async get(key: string): Promise<string | null> {
    const reply = await this.#client.command(['GET', this.#key(key)]);
    return reply === null ? null : String(reply);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const args: (string | number)[] = ['SET', this.#key(key), this.#value(value)];
    if (options.ttlMs !== undefined) args.push('PX', this.#ttl(options.ttlMs));
    if (options.mode !== undefined) {
      if (options.mode !== 'NX' && options.mode !== 'XX') throw invalidArgument("mode must be 'NX' or 'XX'");
      args.push(options.mode);
    }
    return (await this.#client.command(args)) !== null;
  }

  async delete(...keys: string[]): Promise<number> {
    const full = keys.map((k) => this.#key(k));
    if (full.length === 0) return 0;
    if (this.#oneCommand(full)) return Number(await this.#client.command(['DEL', ...full]));
    const counts = await Promise.all(full.map((k) => this.#client.command(['DEL', k])));
    return counts.reduce<number>((sum, n) => sum + Number(n), 0);
  }

  async incr(key: string, options: IncrOptions = {}): Promise<number> {
    const full = this.#key(key);
    const by = options.by ?? 1;
    validate.integer(by, 'by', MESSAGE_PREFIX);
    const ttl = options.ttlMs === undefined ? undefined : this.#ttl(options.ttlMs);
    try {
      if (ttl === undefined) return Number(await this.#client.command(['INCRBY', full, by]));
      return Number(await incrWithTtl.run(this.#client, [full], [by, ttl]));
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
    const full = this.#key(key);
    return Number(await this.#client.command(['PEXPIRE', full, this.#ttl(ttlMs)])) === 1;
  }

  async ttl(key: string): Promise<number | null> {
    const ms = Number(await this.#client.command(['PTTL', this.#key(key)]));
    if (ms === -2) return null;
    if (ms === -1) return Number.POSITIVE_INFINITY;
    return ms;
  }

  async mget(keys: readonly string[]): Promise<(string | null)[]> {
    if (!Array.isArray(keys)) throw invalidArgument('keys must be an array');
    const full = keys.map((k) => this.#key(k));
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
    options: { ttlMs?: number } = {},
  ): Promise<void> {
    if (entries === null || typeof entries !== 'object')
      throw invalidArgument('entries must be an object or an array of pairs');
    const pairs = Array.isArray(entries)
      ? (entries as readonly (readonly [string, string])[])
      : Object.entries(entries);
    const full = pairs.map(([k, v]) => [this.#key(k), this.#value(v)] as const);
    const ttl = options.ttlMs === undefined ? undefined : this.#ttl(options.ttlMs);
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
