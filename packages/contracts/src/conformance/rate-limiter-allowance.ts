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
      name: 'exact at epoch-ms clock readings: for every limit from 1 to 100 a fresh burst of exactly `limit` is allowed, remaining counting down to 0, then denied',
      timeoutMs: 60_000,
      async run(make) {
        // A day per period: nothing refills during the check, however slow the machine.
        const periodMs = 86_400_000;
        for (let limit = 1; limit <= 100; limit++) {
          const limiter = await make({ limit, periodMs });
          const subject = s();
          const remaining: number[] = [];
          for (let i = 0; i < limit; i++) {
            const result = await limiter.consume(subject);
            if (!result.allowed) throw new Error(`limit ${limit}: request ${i + 1} of the burst was denied`);
            remaining.push(result.remaining);
          }
          expect({ limit, remaining }).toEqual({
            limit,
            remaining: Array.from({ length: limit }, (_, i) => limit - 1 - i),
          });
          const denied = await limiter.consume(subject);
          expect({ limit, allowed: denied.allowed, remaining: denied.remaining }).toEqual({
            limit,
            allowed: false,
            remaining: 0,
          });
          expect(denied.retryAfterMs).toBeGreaterThan(0);
          expect(denied.retryAfterMs).toBeLessThanOrEqual(Math.ceil(periodMs / limit));
          // A fresh subject's first request: figures that do not depend on the clock.
          expect(await limiter.consume(s())).toEqual({
            allowed: true,
            remaining: limit - 1,
            retryAfterMs: 0,
            resetMs: Math.ceil(periodMs / limit),
          });
        }
      },
    },
    {
      name: 'settings at the edges: periodMs rounded up to whole ms, up to 2^52 ms, and limit × periodMs up to 2^53 - 1, counted exactly',
      async run(make) {
        const first = async (limit: number, periodMs: number, cost = 1) =>
          (await make({ limit, periodMs })).consume(s(), cost);
        const tiny = await first(1, Number.MIN_VALUE);
        expectShape(tiny);
        expect(tiny).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 1 });
        expect(await first(1, 86_400_000.5)).toEqual({
          allowed: true,
          remaining: 0,
          retryAfterMs: 0,
          resetMs: 86_400_001,
        });
        expect(await first(3, 1e-9, 3)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 1 });
        const MAX = Number.MAX_SAFE_INTEGER;
        expect(await first(MAX, 1)).toEqual({
          allowed: true,
          remaining: MAX - 1,
          retryAfterMs: 0,
          resetMs: 1,
        });
        const limiter = await make({ limit: 4, periodMs: 2 ** 50 });
        const subject = s();
        expect(await limiter.consume(subject, 4)).toEqual({
          allowed: true,
          remaining: 0,
          retryAfterMs: 0,
          resetMs: 2 ** 50,
        });
        const denied = await limiter.consume(subject);
        expectShape(denied);
        expect(denied.allowed).toBe(false);
        expect(denied.remaining).toBe(0);
        expect(denied.retryAfterMs).toBeGreaterThan(2 ** 48 - 600_000);
        expect(denied.retryAfterMs).toBeLessThanOrEqual(2 ** 48);
        const longest = await make({ limit: 1, periodMs: 2 ** 52 });
        expect(await longest.consume(subject)).toEqual({
          allowed: true,
          remaining: 0,
          retryAfterMs: 0,
          resetMs: 2 ** 52,
        });
        const again = await longest.consume(subject);
        expectShape(again);
        expect(again.allowed).toBe(false);
        expect(again.retryAfterMs).toBeGreaterThan(2 ** 52 - 600_000);
        expect(again.retryAfterMs).toBeLessThanOrEqual(2 ** 52);
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
