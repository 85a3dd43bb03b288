import type { RateLimiter, RateLimiterSettings } from '../ports/rate-limiter.js';
import { lifecycleChecks } from './lifecycle.js';
import { allowanceChecks } from './rate-limiter-allowance.js';
import { invalidArgumentChecks } from './rate-limiter-arguments.js';
import { rateLimiterBadInputCheck } from './rate-limiter-bad-input.js';
import { subjectChecks } from './rate-limiter-subjects.js';
import {
  type ConformanceCheck,
  type ConformanceRunner,
  registerTest,
  resolveRunner,
  suiteArguments,
} from './shared.js';

// The RateLimiter suite is split by topic, one file each (rate-limiter-<topic>.ts); this file
// holds its options and composes the topics in order.

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

/**
 * The checks of {@link describeRateLimiter}, each a named `(make) => Promise<void>`. Windows are
 * long (one request back every 12 s or more) wherever a check counts, so a slow machine cannot
 * refill an allowance between two calls; the one check that waits sleeps past `retryAfterMs`.
 */
export const rateLimiterChecks: readonly ConformanceCheck<RateLimiterMaker>[] = [
  ...allowanceChecks(),
  ...subjectChecks(),
  ...invalidArgumentChecks(),
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
