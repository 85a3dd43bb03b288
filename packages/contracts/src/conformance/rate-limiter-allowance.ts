import type { RateLimitResult } from '../ports/rate-limiter.js';
import { expect } from './assert.js';
import type { RateLimiterMaker } from './rate-limiter.js';
import { expectShape, s } from './rate-limiter-support.js';
import { type ConformanceCheck, sleep } from './shared.js';

// RateLimiter suite, the allowance: how much a subject may do, and when it may again.

/** A burst of `limit`, costs, and the allowance coming back after retryAfterMs. */
export function allowanceChecks(): ConformanceCheck<RateLimiterMaker>[] {
  return [
    {
      name: 'a burst of `limit` is allowed, counting remaining down; the next is denied with a retry-after of at most one interval',
      async run(make) {
        const limiter = await make({ limit: 5, periodMs: 60_000 });
        const subject = s();
        for (let i = 4; i >= 0; i--) {
          const result = await limiter.consume(subject);
          expectShape(result);
          expect(result).toMatchObject({ allowed: true, remaining: i, retryAfterMs: 0 });
          expect(result.resetMs).toBeGreaterThan(0);
          expect(result.resetMs).toBeLessThanOrEqual(60_000);
        }
        const denied = await limiter.consume(subject);
        expectShape(denied);
        expect(denied).toMatchObject({ allowed: false, remaining: 0 });
        expect(denied.retryAfterMs).toBeGreaterThan(0);
        expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000 / 5);
        expect(denied.resetMs).toBeGreaterThan(60_000 - 60_000 / 5);
        expect(denied.resetMs).toBeLessThanOrEqual(60_000);
      },
    },
    {
      name: 'a cost counts as that many requests, and a denied request takes nothing',
      async run(make) {
        const limiter = await make({ limit: 3, periodMs: 60_000 });
        const subject = s();
        expect(await limiter.consume(subject, 2)).toMatchObject({ allowed: true, remaining: 1 });
        const denied = await limiter.consume(subject, 2);
        expect(denied).toMatchObject({ allowed: false, remaining: 1 });
        expect(denied.retryAfterMs).toBeGreaterThan(0);
        expect(denied.retryAfterMs).toBeLessThanOrEqual(20_000);
        expect(await limiter.consume(subject, 1)).toMatchObject({ allowed: true, remaining: 0 });
        expect((await limiter.consume(subject, 1)).allowed).toBe(false);
        expect(await limiter.consume(s(), 3)).toMatchObject({ allowed: true, remaining: 0 });
      },
    },
    {
      name: 'a denied subject is allowed again once retryAfterMs has passed',
      async run(make) {
        const limiter = await make({ limit: 2, periodMs: 400 });
        const subject = s();
        let denied: RateLimitResult | undefined;
        for (let i = 0; i < 50 && denied === undefined; i++) {
          const result = await limiter.consume(subject);
          if (!result.allowed) denied = result;
        }
        expect(denied).toBeDefined();
        await sleep((denied as RateLimitResult).retryAfterMs + 25);
        expect((await limiter.consume(subject)).allowed).toBe(true);
      },
    },
  ];
}
