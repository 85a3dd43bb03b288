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
        ];
        for (const settings of bad) await expectInfrastructureError(() => make(settings), INVALID_ARGUMENT);
      },
    },
  ];
}
