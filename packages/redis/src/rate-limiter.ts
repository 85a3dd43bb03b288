import type { RedisClient } from './client.js';
import { invalidArgument } from './errors.js';
import { defineScript } from './script.js';

// GCRA (generic cell rate algorithm): one key per subject holding its "theoretical arrival
// time". Atomic in one script, server clock, O(1) memory per subject, smooth refill.
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
redis.call('SET', KEYS[1], tostring(newTat), 'PX', math.max(1, math.ceil(newTat - now)))
return {1, math.floor((now - allowAt) / interval), 0, math.ceil(newTat - now)}`,
  1,
);

export interface RateLimiterOptions {
  /** Requests allowed per `periodMs` (also the burst size). */
  limit: number;
  /** Length of the window in milliseconds. */
  periodMs: number;
  /** Prefix of the Redis keys [`ratelimit:`]. */
  keyPrefix?: string;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Requests that would still be allowed right now. */
  remaining: number;
  /** When not allowed: milliseconds until this request would be. 0 when allowed. */
  retryAfterMs: number;
  /** Milliseconds until the limiter is back to its full burst. */
  resetMs: number;
}

/**
 * A rate limiter in one atomic Lua script (GCRA: a sliding window without a log), returning
 * allowed, remaining and retry-after. `limit` requests per `periodMs`, bursts up to `limit`.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #limit: number;
  readonly #prefix: string;

  constructor(
    private readonly client: Pick<RedisClient, 'command'>,
    options: RateLimiterOptions,
  ) {
    const { limit, periodMs } = options ?? ({} as RateLimiterOptions);
    if (!Number.isInteger(limit) || limit < 1) throw invalidArgument('limit must be an integer >= 1');
    if (typeof periodMs !== 'number' || !Number.isFinite(periodMs) || periodMs <= 0) {
      throw invalidArgument('periodMs must be a finite number > 0');
    }
    this.#limit = limit;
    this.#intervalMs = periodMs / limit;
    this.#prefix = options.keyPrefix ?? 'ratelimit:';
  }

  /** Takes `cost` [1] from `subject`'s allowance if there is enough. */
  async consume(subject: string, cost = 1): Promise<RateLimitResult> {
    if (typeof subject !== 'string' || subject === '')
      throw invalidArgument('subject must be a non-empty string');
    if (!Number.isInteger(cost) || cost < 1 || cost > this.#limit) {
      throw invalidArgument(`cost must be an integer from 1 to the limit (${this.#limit})`);
    }
    const reply = await GCRA.run<number[]>(
      this.client,
      [this.#prefix + subject],
      [this.#intervalMs, this.#limit, cost],
    );
    const [allowed, remaining, retryAfterMs, resetMs] = reply.map(Number) as [number, number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }

  /** Forgets `subject`'s history. */
  async reset(subject: string): Promise<void> {
    if (typeof subject !== 'string' || subject === '')
      throw invalidArgument('subject must be a non-empty string');
    await this.client.command(['DEL', this.#prefix + subject]);
  }
}
