import { isWellFormed, MAX_TTL_MS, readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type { RateLimiter, RateLimiterSettings, RateLimitResult } from '../ports/rate-limiter.js';
import { validate } from '../validate.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts]';
/** Forgotten subjects are swept after this many calls (an O(n) walk, so not on every call). */
const SWEEP_EVERY = 1024;
/** Longest period (about 142,000 years): an arrival time, now + periodMs, stays below 2^53 ms. */
const MAX_PERIOD_MS = 2 ** 52;

/** Options of {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions extends RateLimiterSettings {
  /** Time source (default {@link systemClock}); pass a `ManualClock` to move time by hand. */
  clock?: Clock;
}

/** A theoretical arrival time: whole ms, and the 1/limit ms past them (0 to limit - 1). */
interface Arrival {
  ms: number;
  units: number;
}

/** `a / b` rounded down, exactly, for integers 0 <= a <= 2^53 - 1 and b >= 1. */
function floorDiv(a: number, b: number): number {
  const q = Math.floor(a / b);
  return q * b > a ? q - 1 : q;
}

/** `a / b` rounded up, exactly (as {@link floorDiv}). */
function ceilDiv(a: number, b: number): number {
  const q = floorDiv(a, b);
  return q * b < a ? q + 1 : q;
}

/**
 * An in-memory {@link RateLimiter} with the Redis limiter's algorithm (GCRA: one "theoretical
 * arrival time" per subject) and answers: `limit` requests per `periodMs`, bursts up to
 * `limit`, one request's worth back every `periodMs / limit` ms, nothing taken when denied.
 * Exact, as the Redis script is, with the same steps: time in whole ms (the clock rounded
 * down), the arrival time counted in 1/limit ms; so `periodMs` (rounded up to whole ms) is at
 * most 2^52 and `limit * periodMs` at most 2^53 - 1.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly limit: number;
  /** The period in whole ms (rounded up). */
  readonly periodMs: number;
  readonly #clock: Clock;
  /** Subject -> theoretical arrival time; one in the past is a full allowance. */
  readonly #arrivals = new Map<string, Arrival>();
  #calls = 0;

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('rate-limiter', this.#closed);
  }

  /** Marks it closed: `health()` reports `down`, calls reject with `INVALID_ARGUMENT`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(options: MemoryRateLimiterOptions) {
    if (options === undefined) throw new InvalidArgumentError(`${PREFIX} rate limiter options are required`);
    const o = readOptions(options, ['limit', 'periodMs', 'clock'], 'rate limiter options', PREFIX);
    validate.integer(o.limit, 'limit', PREFIX, 1);
    validate.positiveMs(o.periodMs, 'periodMs', PREFIX);
    const periodMs = Math.ceil(o.periodMs);
    // An arrival time (now + up to periodMs) must stay a whole number below 2^53.
    if (periodMs > MAX_PERIOD_MS)
      throw new InvalidArgumentError(`${PREFIX} periodMs must be at most 2^52 ms`);
    if (o.limit * periodMs > MAX_TTL_MS) {
      throw new InvalidArgumentError(`${PREFIX} limit × periodMs (in whole ms) must be at most 2^53 - 1`);
    }
    this.limit = o.limit;
    this.periodMs = periodMs;
    this.#clock = checkClock(o.clock);
  }

  async consume(subject: string, cost = 1): Promise<RateLimitResult> {
    checkSubject(subject);
    if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > this.limit) {
      throw new InvalidArgumentError(`${PREFIX} cost must be an integer from 1 to the limit (${this.limit})`);
    }
    this.#assertOpen();
    const now = Math.floor(this.#clock.now());
    if (++this.#calls % SWEEP_EVERY === 0) this.#sweep(now);
    const { limit, periodMs } = this;
    let debt = this.#debt(subject, now);
    const slack = limit * periodMs - debt;
    const need = periodMs * cost;
    if (need > slack) {
      return {
        allowed: false,
        remaining: slack > 0 ? floorDiv(slack, periodMs) : 0,
        retryAfterMs: ceilDiv(need - slack, limit),
        resetMs: ceilDiv(debt, limit),
      };
    }
    debt += need;
    const whole = floorDiv(debt, limit);
    this.#arrivals.set(subject, { ms: now + whole, units: debt - whole * limit });
    return {
      allowed: true,
      remaining: floorDiv(slack - need, periodMs),
      retryAfterMs: 0,
      resetMs: ceilDiv(debt, limit),
    };
  }

  async reset(subject: string): Promise<void> {
    checkSubject(subject);
    this.#assertOpen();
    this.#arrivals.delete(subject);
  }

  /** Number of subjects that do not have their full allowance. For assertions in tests. */
  size(): number {
    this.#sweep(Math.floor(this.#clock.now()));
    return this.#arrivals.size;
  }

  /** Forgets every subject. */
  clear(): void {
    this.#arrivals.clear();
  }

  /** What `subject` owes at `now`, in 1/limit ms (0: its full allowance). */
  #debt(subject: string, now: number): number {
    const tat = this.#arrivals.get(subject);
    if (tat === undefined) return 0;
    const debt = (tat.ms - now) * this.limit + tat.units;
    return Math.max(debt, 0);
  }

  #sweep(now: number): void {
    for (const subject of this.#arrivals.keys()) {
      if (this.#debt(subject, now) === 0) this.#arrivals.delete(subject);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the rate limiter is closed`);
  }
}

/** A subject is text that survives UTF-8 (as a Redis key must): a lone surrogate would not. */
function checkSubject(subject: unknown): asserts subject is string {
  validate.nonEmptyString(subject, 'subject', PREFIX);
  if (!isWellFormed(subject)) {
    throw new InvalidArgumentError(`${PREFIX} subject must not contain a lone surrogate`);
  }
}

/** A clock option: absent (the system clock) or something with a `now()`. */
function checkClock(clock: unknown): Clock {
  if (clock === undefined) return systemClock;
  if (typeof (clock as Partial<Clock> | null)?.now !== 'function') {
    throw new InvalidArgumentError(`${PREFIX} clock must have a now() method`);
  }
  return clock as Clock;
}
