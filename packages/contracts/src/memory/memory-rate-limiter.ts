import { isWellFormed, MAX_TTL_MS, readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type { RateLimiter, RateLimiterSettings, RateLimitResult } from '../ports/rate-limiter.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';
/** Slack for float rounding in the arrival-time arithmetic (a millionth of a ms). */
const EPSILON = 1e-6;
/** Forgotten subjects are swept after this many calls (an O(n) walk, so not on every call). */
const SWEEP_EVERY = 1024;

/** Options of {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions extends RateLimiterSettings {
  /** Time source (default {@link systemClock}); pass a `ManualClock` to move time by hand. */
  clock?: Clock;
}

/**
 * An in-memory {@link RateLimiter} with the Redis limiter's algorithm (GCRA: one "theoretical
 * arrival time" per subject) and answers: `limit` requests per `periodMs`, bursts up to
 * `limit`, one request's worth back every `periodMs / limit` ms, nothing taken when denied.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly limit: number;
  readonly periodMs: number;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  /** Subject -> theoretical arrival time (clock ms); a time in the past is a full allowance. */
  readonly #arrivals = new Map<string, number>();
  #calls = 0;

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('rate-limiter', this.#closed);
  }

  /** Marks it closed: `health()` reports `down` from then on. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(options: MemoryRateLimiterOptions) {
    if (options === undefined) throw new InvalidArgumentError(`${PREFIX} rate limiter options are required`);
    const o = readOptions(options, ['limit', 'periodMs', 'clock'], 'rate limiter options', PREFIX);
    validate.integer(o.limit, 'limit', PREFIX, 1);
    validate.positiveMs(o.periodMs, 'periodMs', PREFIX);
    if (o.periodMs > MAX_TTL_MS)
      throw new InvalidArgumentError(`${PREFIX} periodMs must be at most 2^53 - 1 ms`);
    this.limit = o.limit;
    this.periodMs = o.periodMs;
    this.#intervalMs = o.periodMs / o.limit;
    this.#clock = (o.clock as Clock | undefined) ?? systemClock;
  }

  async consume(subject: string, cost = 1): Promise<RateLimitResult> {
    checkSubject(subject);
    if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > this.limit) {
      throw new InvalidArgumentError(`${PREFIX} cost must be an integer from 1 to the limit (${this.limit})`);
    }
    const now = this.#clock.now();
    if (++this.#calls % SWEEP_EVERY === 0) this.#sweep(now);
    const interval = this.#intervalMs;
    const capacity = this.limit * interval;
    const tat = Math.max(this.#arrivals.get(subject) ?? now, now);
    const newTat = tat + interval * cost;
    const allowAt = newTat - capacity;
    if (now + EPSILON < allowAt) {
      const remaining = Math.max(0, Math.floor((now - (tat - capacity)) / interval + EPSILON));
      return {
        allowed: false,
        remaining,
        retryAfterMs: Math.ceil(allowAt - now),
        resetMs: Math.ceil(tat - now),
      };
    }
    this.#arrivals.set(subject, newTat);
    const remaining = Math.max(0, Math.floor((now - allowAt) / interval + EPSILON));
    return { allowed: true, remaining, retryAfterMs: 0, resetMs: Math.ceil(newTat - now - EPSILON) };
  }

  async reset(subject: string): Promise<void> {
    checkSubject(subject);
    this.#arrivals.delete(subject);
  }

  /** Number of subjects that do not have their full allowance. For assertions in tests. */
  size(): number {
    this.#sweep(this.#clock.now());
    return this.#arrivals.size;
  }

  /** Forgets every subject. */
  clear(): void {
    this.#arrivals.clear();
  }

  #sweep(now: number): void {
    for (const [subject, tat] of this.#arrivals) if (tat <= now) this.#arrivals.delete(subject);
  }
}

/** A subject is text that survives UTF-8 (as a Redis key must): a lone surrogate would not. */
function checkSubject(subject: unknown): asserts subject is string {
  validate.nonEmptyString(subject, 'subject', PREFIX);
  if (!isWellFormed(subject)) {
    throw new InvalidArgumentError(`${PREFIX} subject must not contain a lone surrogate`);
  }
}
