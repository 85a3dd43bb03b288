import type { RateLimiter, RateLimiterSettings, RateLimitResult } from '../ports/rate-limiter.js';
import { BadInputFailure, type BadInputOptions, resolveBadInputOptions, runJunkRuns } from './bad-input.js';
import type { Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const DEFAULTS = { seed: 0x72617465, runs: 600 };
/** One request back every 10^6 ms: nothing refills during the suite. */
const SETTINGS: RateLimiterSettings = { limit: 1000, periodMs: 1e9 };

type Maker = (settings: RateLimiterSettings) => Promise<RateLimiter>;

const shapeProblem = (r: RateLimitResult): string | undefined => {
  if (typeof r !== 'object' || r === null) return 'not a result object';
  if (typeof r.allowed !== 'boolean') return 'allowed is not a boolean';
  for (const field of ['remaining', 'retryAfterMs', 'resetMs'] as const) {
    if (!Number.isSafeInteger(r[field]) || r[field] < 0) return `${field} is ${String(r[field])}`;
  }
  return undefined;
};

/**
 * The bad-input check of the {@link RateLimiter} suite: `runs` calls of `consume` or `reset`
 * with seeded junk as the subject, the cost or both. Each must resolve (a well-formed result)
 * or reject with `INVALID_ARGUMENT` within the deadline, never throw synchronously, reject
 * with a plain error or hang; and no call may touch the neighbour subjects seeded before the
 * runs (some differ from subjects in the junk only by a lone surrogate or a normalisation form).
 */
export function rateLimiterBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<Maker> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(make) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const limiter = await make(SETTINGS);
      const base = randomKey('rate-junk');
      const neighbours = [`${base}:plain`, `${base}\ufffd`, `${base}é`, `${base}😀`];
      const nearMisses: Junk[] = [
        { label: 'a neighbour with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
        { label: 'a neighbour with half of its emoji', value: `${base}\ud83d` },
        { label: 'a neighbour in NFD', value: `${base}e\u0301` },
        { label: 'a neighbour in upper case', value: `${base}:PLAIN` },
      ];
      for (const n of neighbours) await limiter.consume(n);
      await runJunkRuns('RateLimiter', settings, async ({ junk, random, call }) => {
        const r = random.next();
        const subject: Junk =
          r < 0.2
            ? random.pick(nearMisses)
            : r < 0.6
              ? junk.string()
              : r < 0.8
                ? junk.any()
                : { label: 'a fresh subject', value: randomKey('rate-junk') };
        if (random.chance(0.2)) {
          await call({
            label: `reset(${subject.label})`,
            invoke: () => limiter.reset(subject.value as string),
            onSuccess: (v) => (v === undefined ? undefined : 'it resolved a value, not undefined'),
          });
          return;
        }
        const cost: Junk = random.chance(0.5)
          ? junk.prefer('number')
          : { label: 'no cost', value: undefined };
        await call({
          label: `consume(${subject.label}, ${cost.label})`,
          invoke: () => limiter.consume(subject.value as string, cost.value as number),
          onSuccess: shapeProblem,
        });
      });
      // Each neighbour spent one request before the runs: one more leaves limit - 2.
      for (let i = 0; i < neighbours.length; i++) {
        const result = await limiter.consume(neighbours[i] as string);
        if (!result.allowed || result.remaining !== SETTINGS.limit - 2) {
          throw new BadInputFailure(`neighbour ${i} changed during the runs (remaining ${result.remaining})`);
        }
      }
      for (const n of neighbours) await limiter.reset(n);
    },
  };
}
