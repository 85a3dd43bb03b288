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
// time" (TAT). Atomic in one script, server clock, O(1) memory per subject, smooth refill.
// Exact: time is whole ms and the TAT is counted in units of 1/limit ms, so one request costs
// `periodMs` units and the full burst `limit * periodMs` (at most 2^53 - 1: the constructor
// checks). The TAT is stored as "ms:units" (whole ms and the units past them, 0 to limit - 1),
// and the script works on the debt (TAT - now, in units), which stays below 2^53: no float
// rounding at epoch-ms magnitudes (it let 6 of a burst of 7 per second through, and gave a fresh
// subject's first request a remaining one or two too low). An older float TAT is read rounded up.
// MemoryRateLimiter in @voelgoed/contracts does the same steps in the same order.
const GCRA = defineScript(
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local function fdiv(a, b) local q = math.floor(a / b) if q * b > a then q = q - 1 end return q end
local function cdiv(a, b) local q = fdiv(a, b) if q * b < a then q = q + 1 end return q end
local debt = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local ms, units = string.match(stored, '^(%d+):(%d+)$')
  if ms then
    debt = (tonumber(ms) - now) * limit + tonumber(units)
  else
    local old = tonumber(stored)
    if old and old == old then debt = (math.ceil(old) - now) * limit end
  end
  if debt < 0 then debt = 0 end
end
local slack = limit * period - debt
local need = period * cost
if need > slack then
  local remaining = 0
  if slack > 0 then remaining = fdiv(slack, period) end
  return {0, remaining, cdiv(need - slack, limit), cdiv(debt, limit)}
end
debt = debt + need
local whole = fdiv(debt, limit)
local reset = cdiv(debt, limit)
redis.call('SET', KEYS[1], string.format('%.0f:%.0f', now + whole, debt - whole * limit), 'PX', string.format('%.0f', math.max(1, reset)))
return {1, fdiv(slack - need, period), 0, reset}`,
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
/** Longest period (about 142,000 years): an arrival time, now + periodMs, stays below 2^53 ms. */
const MAX_PERIOD_MS = 2 ** 52;

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
  readonly #periodMs: number;
  readonly #limit: number;
  readonly #prefix: string;

  #closed = false;

  /** Its client's health (a PING within a second) until {@link close}, `down` after. Never throws. */
  health(): Promise<HealthReport> {
    return primitiveHealth('rate-limiter', this.#client, this.#closed);
  }

  /**
   * Marks it closed (`health()` reports `down`, calls reject with `INVALID_ARGUMENT`);
   * the client stays open: it is the caller's. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(client: Pick<RedisClient, 'command'>, options: RateLimiterOptions) {
    this.#client = client;
    if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
    onlyFields(options, RATE_LIMITER_FIELDS, 'rate limiter options');
    const { limit, periodMs, keyPrefix = 'ratelimit:' } = options;
    if (!Number.isSafeInteger(limit) || limit < 1) throw invalidArgument('limit must be an integer >= 1');
    if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0) {
      throw invalidArgument('periodMs must be a finite number > 0');
    }
    // Whole ms (fractions rounded up, as TTLs are); the script counts in 1/limit ms, exactly
    // only while a full burst (limit * periodMs of them) fits in 2^53 - 1.
    const period = Math.ceil(periodMs);
    // The arrival time (now + up to periodMs) is stored in whole ms: it must stay below 2^53.
    if (period > MAX_PERIOD_MS) throw invalidArgument('periodMs must be at most 2^52 ms');
    if (limit * period > Number.MAX_SAFE_INTEGER) {
      throw invalidArgument('limit × periodMs (in whole ms) must be at most 2^53 - 1');
    }
    this.#limit = limit;
    this.#periodMs = period;
    if (typeof keyPrefix !== 'string') throw invalidArgument('keyPrefix must be a string');
    // Sent as UTF-8 a lone surrogate becomes U+FFFD: two prefixes would share their keys.
    if (LONE_SURROGATE.test(keyPrefix)) throw invalidArgument('keyPrefix must not contain a lone surrogate');
    this.#prefix = keyPrefix;
  }

  /** Takes `cost` [1] from `subject`'s allowance if there is enough. */
  async consume(subject: string, cost = 1): Promise<RateLimitResult> {
    validateSubject(subject);
    if (!Number.isInteger(cost) || cost < 1 || cost > this.#limit) {
      throw invalidArgument(`cost must be an integer from 1 to the limit (${this.#limit})`);
    }
    this.#assertOpen();
    const reply = await GCRA.run<number[]>(
      this.#client,
      [this.#prefix + subject],
      [this.#limit, this.#periodMs, cost],
    );
    const [allowed, remaining, retryAfterMs, resetMs] = reply.map(Number) as [number, number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }

  /** Forgets `subject`'s history. */
  async reset(subject: string): Promise<void> {
    validateSubject(subject);
    this.#assertOpen();
    await this.#client.command(['DEL', this.#prefix + subject]);
  }

  #assertOpen(): void {
    // The caller's mistake, as a closed cache's, queue's or lock manager's calls are.
    if (this.#closed) throw invalidArgument('the rate limiter is closed');
  }
}
