import { ErrorCodes } from '../errors.js';
import type { RateLimiterSettings } from '../ports/rate-limiter.js';
import { expect } from './assert.js';
import type { RateLimiterMaker } from './rate-limiter.js';
import { s } from './rate-limiter-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// RateLimiter suite, arguments: bad subjects, costs and settings are INVALID_ARGUMENT.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad subjects and costs take nothing; bad settings make no limiter. */
export function invalidArgumentChecks(): ConformanceCheck<RateLimiterMaker>[] {
  return [
    {
      name: 'bad subjects and costs reject INVALID_ARGUMENT and take nothing',
      async run(make) {
        const limiter = await make({ limit: 3, periodMs: 60_000 });
        const subject = s();
        for (const bad of ['', 42, undefined, null, `${subject}\ud800`] as unknown as string[]) {
          await expectInfrastructureError(() => limiter.consume(bad), INVALID_ARGUMENT);
          await expectInfrastructureError(() => limiter.reset(bad), INVALID_ARGUMENT);
        }
        for (const cost of [
          0,
          -1,
          1.5,
          4,
          Number.NaN,
          Number.POSITIVE_INFINITY,
          '1',
          null,
        ] as unknown as number[]) {
          await expectInfrastructureError(() => limiter.consume(subject, cost), INVALID_ARGUMENT);
        }
        expect(await limiter.consume(subject)).toMatchObject({ allowed: true, remaining: 2 });
      },
    },
    {
      name: 'bad settings are INVALID_ARGUMENT',
      async run(make) {
        const bad: RateLimiterSettings[] = [
          { limit: 0, periodMs: 1000 },
          { limit: -1, periodMs: 1000 },
          { limit: 1.5, periodMs: 1000 },
          { limit: Number.NaN, periodMs: 1000 },
          { limit: 1, periodMs: 0 },
          { limit: 1, periodMs: -5 },
          { limit: 1, periodMs: Number.POSITIVE_INFINITY },
          { limit: 1, periodMs: Number.NaN },
          // Past what the limiter can count exactly: limit × periodMs above 2^53 - 1, or a
          // period so long that now + periodMs would pass 2^53 ms.
          { limit: 1e21, periodMs: 1000 },
          { limit: 2 ** 53, periodMs: 1 },
          { limit: 5, periodMs: 2 ** 52 },
          { limit: 1, periodMs: 2 ** 52 + 1 },
          { limit: 1, periodMs: 2 ** 53 - 1 },
          { limit: 2 ** 27, periodMs: 2 ** 26 + 0.5 },
        ];
        for (const settings of bad) await expectInfrastructureError(() => make(settings), INVALID_ARGUMENT);
      },
    },
    {
      name: 'after close(), consume and reset reject with INVALID_ARGUMENT, saying it is closed',
      async run(make) {
        const limiter = await make({ limit: 3, periodMs: 60_000 });
        const subject = s();
        await limiter.consume(subject);
        await limiter.close();
        for (const call of [
          () => limiter.consume(subject),
          () => limiter.consume(s(), 2),
          () => limiter.reset(subject),
        ]) {
          const error = await expectInfrastructureError(call, INVALID_ARGUMENT);
          expect(error.retryable).toBe(false);
          expect(error.message).toMatch(/closed/);
        }
      },
    },
  ];
}
