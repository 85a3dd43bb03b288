import { type ExpiringSet as ExpiringSetPort, fieldsOf, type HealthReport } from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument } from './errors.js';
import { onlyFields } from './options.js';
import { primitiveHealth } from './primitive-health.js';
import { defineScript } from './script.js';

// Every script reads the server's clock (TIME), so processes with skewed clocks agree on expiry.
// The set's own key expires with its last member, so an abandoned set leaves nothing behind.
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const KEEP_KEY_ALIVE = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.ceil(tonumber(last[2])))) end`;

const ADD = defineScript(
  `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local onlyIfAbsent = ARGV[3] == '1'
local existed = redis.call('ZSCORE', KEYS[1], ARGV[1])
if existed and onlyIfAbsent then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
${KEEP_KEY_ALIVE}
if existed then return 2 end
return 1`,
  1,
);

const REFRESH = defineScript(
  `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
${KEEP_KEY_ALIVE}
return 1`,
  1,
);

// Only a live member counts as removed, whether or not an expired one was purged yet.
const REMOVE = defineScript(
  `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
if score and tonumber(score) > now then return 1 end
return 0`,
  1,
);

const HAS = defineScript(
  `${NOW}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > now then return tonumber(score) - now end
return -1`,
  1,
);

const MEMBERS = defineScript(`${NOW}\nreturn redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`, 1);
const COUNT = defineScript(`${NOW}\nreturn redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`, 1);
const PURGE = defineScript(`${NOW}\nreturn redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)`, 1);

export interface ExpiringSetOptions {
  /** TTL used when `add` is given none [60000 ms]. */
  defaultTtlMs?: number;
}

const EXPIRING_SET_FIELDS = fieldsOf<ExpiringSetOptions>()(['defaultTtlMs']);

const LONE_SURROGATE = /\p{Cs}/u;

function validateMember(member: unknown): asserts member is string {
  if (typeof member !== 'string' || member === '') throw invalidArgument('member must be a non-empty string');
  // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'a\uD800' would be the member 'a\uFFFD'.
  if (LONE_SURROGATE.test(member)) throw invalidArgument('member must not contain a lone surrogate');
}

function validateTtl(ttlMs: unknown): asserts ttlMs is number {
  if (
    typeof ttlMs !== 'number' ||
    !Number.isFinite(ttlMs) ||
    ttlMs <= 0 ||
    Math.ceil(ttlMs) > Number.MAX_SAFE_INTEGER
  ) {
    throw invalidArgument('ttlMs must be a finite number > 0, at most 2^53 - 1');
  }
}

/**
 * A set whose members each expire: a sorted set scored by expiry time, changed only through
 * atomic Lua scripts that use the server's clock. Works on standalone, Sentinel and Cluster
 * (one key, so one slot). Implements the `ExpiringSet` port of `@voelgoed/contracts` (in
 * memory: `MemoryExpiringSet`).
 */
export class ExpiringSet implements ExpiringSetPort {
  /** The sorted set's key. */
  readonly key: string;
  readonly #client: Pick<RedisClient, 'command'>;
  readonly #defaultTtlMs: number;

  #closed = false;

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('expiring-set', this.#client, this.#closed);
  }

  /**
   * Marks it closed (`health()` reports `down`, calls reject with `INVALID_ARGUMENT`);
   * the client stays open: it is the caller's. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** The client, while this set is open: after {@link close}, calls reject (a closed cache's do too). */
  get #open(): Pick<RedisClient, 'command'> {
    if (this.#closed) throw invalidArgument('the expiring set is closed');
    return this.#client;
  }

  constructor(client: Pick<RedisClient, 'command'>, key: string, options: ExpiringSetOptions = {}) {
    this.#client = client;
    this.key = key;
    if (typeof key !== 'string' || key === '') throw invalidArgument('key must be a non-empty string');
    // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'holds\uD800' would be the set 'holds\uFFFD'.
    if (LONE_SURROGATE.test(key)) throw invalidArgument('key must not contain a lone surrogate');
    if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
    onlyFields(options, EXPIRING_SET_FIELDS, 'expiring set options');
    const ttl = options.defaultTtlMs ?? 60_000;
    validateTtl(ttl);
    this.#defaultTtlMs = ttl;
  }

  /** Adds `member` (or renews it) for `ttlMs`; resolves true when it was not a live member before. */
  async add(member: string, ttlMs = this.#defaultTtlMs): Promise<boolean> {
    validateMember(member);
    validateTtl(ttlMs);
    return (await ADD.run<number>(this.#open, [this.key], [member, Math.ceil(ttlMs), '0'])) === 1;
  }

  /** Adds `member` only when it is not a live member; resolves false (and changes nothing) otherwise. */
  async tryAdd(member: string, ttlMs = this.#defaultTtlMs): Promise<boolean> {
    validateMember(member);
    validateTtl(ttlMs);
    return (await ADD.run<number>(this.#open, [this.key], [member, Math.ceil(ttlMs), '1'])) === 1;
  }

  /** Gives a live member a new TTL from now; resolves false when it is absent or expired. */
  async refresh(member: string, ttlMs = this.#defaultTtlMs): Promise<boolean> {
    validateMember(member);
    validateTtl(ttlMs);
    return (await REFRESH.run<number>(this.#open, [this.key], [member, Math.ceil(ttlMs)])) === 1;
  }

  /** Removes a member; resolves true when it was live (an expired one is removed too, resolving false). */
  async remove(member: string): Promise<boolean> {
    validateMember(member);
    return Number(await REMOVE.run<number>(this.#open, [this.key], [member])) === 1;
  }

  /** Whether `member` is live. */
  async has(member: string): Promise<boolean> {
    return (await this.ttl(member)) !== undefined;
  }

  /** Milliseconds `member` has left, or undefined when it is absent or expired. */
  async ttl(member: string): Promise<number | undefined> {
    validateMember(member);
    const left = Number(await HAS.run<number>(this.#open, [this.key], [member]));
    return left < 0 ? undefined : left;
  }

  /** Live members, soonest to expire first. */
  async members(): Promise<string[]> {
    return (await MEMBERS.run<string[]>(this.#open, [this.key])).map(String);
  }

  /** Number of live members. */
  async count(): Promise<number> {
    return Number(await COUNT.run<number>(this.#open, [this.key]));
  }

  /** Deletes expired members; resolves with how many there were. */
  async purge(): Promise<number> {
    return Number(await PURGE.run<number>(this.#open, [this.key]));
  }
}
