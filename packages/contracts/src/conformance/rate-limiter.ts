import { ErrorCodes } from '../errors.js';
import type { RateLimiter, RateLimiterSettings, RateLimitResult } from '../ports/rate-limiter.js';
import { expect } from './assert.js';
import { lifecycleChecks } from './lifecycle.js';
import { rateLimiterBadInputCheck } from './rate-limiter-bad-input.js';
import {
  type ConformanceCheck,
  type ConformanceRunner,
  expectInfrastructureError,
  randomKey,
  registerTest,
  resolveRunner,
  sleep,
  suiteArguments,
} from './shared.js';

const { INVALID_ARGUMENT } = ErrorCodes;

/** Makes a rate limiter with the given settings: what every check of the suite is handed. */
export type RateLimiterMaker = (settings: RateLimiterSettings) => Promise<RateLimiter>;

/** Options of {@link describeRateLimiter}. */
export interface RateLimiterConformanceOptions<T extends RateLimiter = RateLimiter> {
  /** Called after every test with each limiter the test made (close connections here). */
  teardown?: (limiter: T) => void | Promise<void>;
  /**
   * Register extra tests inside the suite's `describe`; `make(settings)` makes a limiter,
   * `runner` is the runner the suite registers with.
   */
  additionalTests?: (make: (settings: RateLimiterSettings) => Promise<T>, runner: ConformanceRunner) => void;
  /**
   * The test runner's functions. Defaults to the global `describe`, `it`, `beforeEach` and
   * `afterEach` (Jest, or Vitest with `globals: true`); required under node:test and under Vitest
   * without globals.
   */
  runner?: ConformanceRunner;
}

const s = () => randomKey('rate');

function expectShape(result: RateLimitResult): void {
  expect(typeof result.allowed).toBe('boolean');
  for (const n of [result.remaining, result.retryAfterMs, result.resetMs]) {
    expect(Number.isSafeInteger(n)).toBe(true);
    expect(n).toBeGreaterThanOrEqual(0);
  }
}

/**
 * The checks of {@link describeRateLimiter}, each a named `(make) => Promise<void>`. Windows are
 * long (one request back every 12 s or more) wherever a check counts, so a slow machine cannot
 * refill an allowance between two calls; the one check that waits sleeps past `retryAfterMs`.
 */
export const rateLimiterChecks: readonly ConformanceCheck<RateLimiterMaker>[] = [
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
  rateLimiterBadInputCheck(),
  ...lifecycleChecks<RateLimiterMaker>((make) => make({ limit: 5, periodMs: 60_000 })),
];

/**
 * Registers the {@link RateLimiter} conformance suite. The factory makes a limiter with the
 * given settings (`limit` per `periodMs`); a test may make several. Subjects are random.
 *
 * @example
 * describeRateLimiter('RateLimiter on Redis', (settings) =>
 *   new RateLimiter(client, { ...settings, keyPrefix: `test:${randomUUID()}:` }));
 */
export function describeRateLimiter<T extends RateLimiter>(
  factory: (settings: RateLimiterSettings) => T | Promise<T>,
  options?: RateLimiterConformanceOptions<T>,
): void;
export function describeRateLimiter<T extends RateLimiter>(
  name: string,
  factory: (settings: RateLimiterSettings) => T | Promise<T>,
  options?: RateLimiterConformanceOptions<T>,
): void;
export function describeRateLimiter(...args: unknown[]): void {
  const what = 'describeRateLimiter';
  const { name, factory, options } = suiteArguments<
    (settings: RateLimiterSettings) => RateLimiter | Promise<RateLimiter>,
    RateLimiterConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  const { describe, afterEach } = runner;
  describe(name === undefined ? 'RateLimiter conformance' : `RateLimiter conformance: ${name}`, () => {
    const made: RateLimiter[] = [];
    const make = async (settings: RateLimiterSettings): Promise<RateLimiter> => {
      const limiter = await factory(settings);
      made.push(limiter);
      return limiter;
    };
    afterEach(async () => {
      for (const limiter of made.splice(0)) await options.teardown?.(limiter);
    });
    for (const check of rateLimiterChecks)
      registerTest(runner, check.name, () => check.run(make), check.timeoutMs);
    options.additionalTests?.(make, runner);
  });
}
