import { expect } from './assert.js';
import type { RateLimiterMaker } from './rate-limiter.js';
import { s } from './rate-limiter-support.js';
import type { ConformanceCheck } from './shared.js';

// RateLimiter suite, subjects: each has an allowance of its own, shared by its concurrent requests.

/** Subjects are kept apart by their exact string, reset one by one, and share nothing but their own allowance. */
export function subjectChecks(): ConformanceCheck<RateLimiterMaker>[] {
  return [
    {
      name: 'subjects are independent, and reset gives a subject its full allowance back',
      async run(make) {
        const limiter = await make({ limit: 2, periodMs: 60_000 });
        const [a, b] = [s(), s()];
        await limiter.consume(a);
        await limiter.consume(a);
        expect((await limiter.consume(a)).allowed).toBe(false);
        expect(await limiter.consume(b)).toMatchObject({ allowed: true, remaining: 1 });
        await limiter.reset(a);
        expect(await limiter.consume(a)).toMatchObject({ allowed: true, remaining: 1 });
        expect(await limiter.consume(b)).toMatchObject({ allowed: true, remaining: 0 });
        await limiter.reset(s());
      },
    },
    {
      name: 'subjects that differ only in case, a trailing space or normalisation form are different subjects',
      async run(make) {
        const limiter = await make({ limit: 1, periodMs: 60_000 });
        const base = s();
        for (const subject of [`${base}:é`, `${base}:e\u0301`, `${base}:É`, `${base}:é `, `${base}:\ufffd`]) {
          expect((await limiter.consume(subject)).allowed).toBe(true);
        }
        expect((await limiter.consume(`${base}:é`)).allowed).toBe(false);
      },
    },
    {
      name: 'concurrent requests: exactly `limit` go through',
      async run(make) {
        const limiter = await make({ limit: 10, periodMs: 600_000 });
        const subject = s();
        const results = await Promise.all(Array.from({ length: 60 }, () => limiter.consume(subject)));
        expect(results.filter((r) => r.allowed)).toHaveLength(10);
        expect(
          [...new Set(results.filter((r) => r.allowed).map((r) => r.remaining))].sort((x, y) => x - y),
        ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      },
    },
  ];
}
