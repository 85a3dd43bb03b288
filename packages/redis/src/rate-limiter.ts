import {
  fieldsOf,
  type HealthReport,
  type RateLimiter as RateLimiterPort,
  type RateLimiterSettings,
  type RateLimitResult,
} from '@voelgoed/contracts';
import type { RedisClient } from './client.js';
import { invalidArgument } from './errors.js';
import { onlyFields } from './options.js';
import { primitiveHealth } from './primitive-health.js';
import { defineScript } from './script.js';

// GCRA (generic cell rate algorithm): one key per subject holding its "theoretical arrival
// time". Atomic in one script, server clock, O(1) memory per subject, smooth refill. The time is
// stored with 17 significant digits: Lua's tostring keeps 14, which rounds it to 0.1 ms and let
// two calls closer than that see one request too many or too few.
const GCRA = defineScript(
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2]) * interval
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newTat = tat + interval * cost
local allowAt = newTat - capacity
if now < allowAt then
  local remaining = math.floor((now - (tat - capacity)) / interval)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(allowAt - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], string.format('%.17g', newTat), 'PX', math.max(1, math.ceil(newTat - now)))
return {1, math.floor((now - allowAt) / interval), 0, math.ceil(newTat - now)}`,
  1,
);

export type { RateLimitResult };

/** Options of {@link RateLimiter}: the port's settings plus where the keys live. */
export interface RateLimiterOptions extends RateLimiterSettings {
  /** Prefix of the Redis keys [`ratelimit:`]. */
  keyPrefix?: string;
}

const RATE_LIMITER_FIELDS = fieldsOf<RateLimiterOptions>()(['limit', 'periodMs', 'keyPrefix']);

const LONE_SURROGATE = /\p{Cs}/u;
const MAX_MS = Number.MAX_SAFE_INTEGER;

function validateSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject === '')
    throw invalidArgument('subject must be a non-empty string');
  // Sent as UTF-8 a lone surrogate becomes U+FFFD: 'a\uD800' would spend 'a\uFFFD''s allowance.
  if (LONE_SURROGATE.test(subject)) throw invalidArgument('subject must not contain a lone surrogate');
}

/**
 * A rate limiter in one atomic Lua script (GCRA: a sliding window without a log), returning
 * allowed, remaining and retry-after. `limit` requests per `periodMs`, bursts up to `limit`.
 * Implements the `RateLimiter` port of `@voelgoed/contracts` (in memory: `MemoryRateLimiter`).
 */
export class RateLimiter implements RateLimiterPort {
  readonly #client: Pick<RedisClient, 'command'>;
  readonly #intervalMs: number;
  readonly #limit: number;
  readonly #prefix: string;

  #closed = false;

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('rate-limiter', this.#client, this.#closed);
  }

  /** Marks it closed (`health()` reports `down`); the client stays open: it is the caller's. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(client: Pick<RedisClient, 'command'>, options: RateLimiterOptions) {
    this.#client = client;
    if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
    onlyFields(options, RATE_LIMITER_FIELDS, 'rate limiter options');
    const { limit, periodMs, keyPrefix = 'ratelimit:' } = options;
    if (!Number.isInteger(limit) || limit < 1) throw invalidArgument('limit must be an integer >= 1');
    // Longer periods would make key TTLs Redis cannot take (PX past 2^53 - 1 ms).
    if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0 || periodMs > MAX_MS) {
      throw invalidArgument('periodMs must be a finite number > 0, at most 2^53 - 1');
    }
    this.#limit = limit;
    this.#intervalMs = periodMs / limit;
    if (typeof keyPrefix !== 'string') throw invalidArgument('keyPrefix must be a string');
    this.#prefix = keyPrefix;
  }

  /** Takes `cost` [1] from `subject`'s allowance if there is enough. */
  async consume(subject: string, cost = 1): Promise<RateLimitResult> {
    validateSubject(subject);
    if (!Number.isInteger(cost) || cost < 1 || cost > this.#limit) {
      throw invalidArgument(`cost must be an integer from 1 to the limit (${this.#limit})`);
    }
    const reply = await GCRA.run<number[]>(
      this.#client,
      [this.#prefix + subject],
      [this.#intervalMs, this.#limit, cost],
    );
    const [allowed, remaining, retryAfterMs, resetMs] = reply.map(Number) as [number, number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }

  /** Forgets `subject`'s history. */
  async reset(subject: string): Promise<void> {
    validateSubject(subject);
    await this.#client.command(['DEL', this.#prefix + subject]);
  }
}
