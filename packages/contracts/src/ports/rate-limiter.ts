import type { Resource } from './health.js';

/** What {@link RateLimiter.consume} decided. */
export interface RateLimitResult {
  /** Whether the request may go ahead (its cost was taken from the allowance). */
  allowed: boolean;
  /** Requests (of cost 1) that would still be allowed right now. */
  remaining: number;
  /** When not allowed: ms until a request of the same cost would be. 0 when allowed. */
  retryAfterMs: number;
  /** Ms until the subject is back to its full burst. */
  resetMs: number;
}

/** Settings of a rate limiter: `limit` requests per `periodMs`, refilled smoothly. */
export interface RateLimiterSettings {
  /** Requests allowed per `periodMs`, also the largest burst (an integer >= 1). */
  limit: number;
  /** Length of the window in ms (a positive finite number). */
  periodMs: number;
}

/**
 * The swappable face of a rate limiter (GCRA on Redis, or in memory for tests): each subject
 * may make `limit` requests per `periodMs`, in bursts of up to `limit`; one request's worth
 * comes back every `periodMs / limit` ms. A denied request takes nothing. Bad input rejects
 * with `InvalidArgumentError`.
 */
export interface RateLimiter extends Resource {
  /**
   * Takes `cost` (default 1; an integer from 1 to the limit) from `subject`'s allowance if
   * there is enough; otherwise takes nothing and says when to try again.
   */
  consume(subject: string, cost?: number): Promise<RateLimitResult>;
  /** Forgets `subject`'s history: its next request meets a full allowance. */
  reset(subject: string): Promise<void>;
}
