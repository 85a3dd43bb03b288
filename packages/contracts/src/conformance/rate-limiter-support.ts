import type { RateLimitResult } from '../ports/rate-limiter.js';
import { expect } from './assert.js';
import { randomKey } from './shared.js';

// What the topics of the RateLimiter suite share.

/** A new random subject. */
export const s = () => randomKey('rate');

/** Asserts the shape every result has: a boolean and three non-negative integers. */
export function expectShape(result: RateLimitResult): void {
  expect(typeof result.allowed).toBe('boolean');
  for (const n of [result.remaining, result.retryAfterMs, result.resetMs]) {
    expect(Number.isSafeInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(0);
  }
}
