import type { ExpiringSet } from '../ports/expiring-set.js';
import {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  type JunkRunContext,
  resolveBadInputOptions,
  runJunkRuns,
} from './bad-input.js';
import type { Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const DEFAULTS = { seed: 0x65787365, runs: 600 };
/** TTL of the neighbours: far beyond the suite's few seconds. */
const NEIGHBOUR_TTL = 600_000;

const isBool = (v: unknown) =>
  typeof v === 'boolean' ? undefined : `it resolved ${typeof v}, not a boolean`;

/**
 * Members seeded before the runs, and junk members that differ from them only by a lone
 * surrogate, a normalisation form or a NUL.
 */
function neighbourhood(base: string): { neighbours: string[]; nearMisses: Junk[] } {
  return {
    neighbours: [`${base}:plain`, `${base}\ufffd`, `${base}é`, `${base}😀`],
    nearMisses: [
      { label: 'a neighbour with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
      { label: 'a neighbour with a lone low surrogate for its U+FFFD', value: `${base}\udfff` },
      { label: 'a neighbour with half of its emoji', value: `${base}\ud83d` },
      { label: 'a neighbour in NFD', value: `${base}e\u0301` },
      { label: 'a neighbour with a NUL after it', value: `${base}:plain\0` },
    ],
  };
}

/** Throws unless every neighbour is still a member, with no more than its TTL left. */
async function expectNeighboursKept(set: ExpiringSet, neighbours: string[], after: string): Promise<void> {
  for (const [i, n] of neighbours.entries()) {
    const left = await set.ttl(n);
    if (left === undefined || left > NEIGHBOUR_TTL) {
      throw new BadInputFailure(`after ${after}: neighbour ${i} changed`);
    }
  }
}

/**
 * The bad-input check of the {@link ExpiringSet} suite: `runs` calls of one method each with
 * seeded junk as the member, the TTL or both. Each must resolve (with a value of the right type)
 * or reject with `INVALID_ARGUMENT` within the deadline, never throw synchronously, reject with
 * a plain error or hang. A rejected call must not add the member it named, and no call may
 * change the neighbour members seeded before the runs (some differ from members in the junk only
 * by a lone surrogate or a normalisation form).
 */
export function expiringSetBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<ExpiringSet> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(set) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const { neighbours, nearMisses } = neighbourhood(randomKey('set-junk'));
      for (const n of neighbours) await set.add(n, NEIGHBOUR_TTL);

      const member = ({ junk, random }: JunkRunContext): Junk => {
        const r = random.next();
        if (r < 0.2) return random.pick(nearMisses);
        if (r < 0.6) return junk.string();
        if (r < 0.8) return junk.any();
        return { label: 'a fresh member', value: randomKey('set-junk') };
      };

      await runJunkRuns('ExpiringSet', settings, async (context) => {
        const { junk, random, call } = context;
        const method = random.pick(['add', 'tryAdd', 'refresh', 'remove', 'has', 'ttl'] as const);
        const target = random.pick(['member', 'ttlMs', 'both']);
        const withTtl = method === 'add' || method === 'tryAdd' || method === 'refresh';
        const who: Junk =
          target === 'ttlMs' && withTtl
            ? { label: 'a fresh member', value: randomKey('set-junk') }
            : member(context);
        const ttl: Junk = target !== 'member' ? junk.prefer('number') : { label: 'no TTL', value: undefined };
        const outcome = await call({
          label: withTtl ? `${method}(${who.label}, ${ttl.label})` : `${method}(${who.label})`,
          invoke: () =>
            withTtl
              ? set[method](who.value as string, ttl.value as number)
              : (set[method] as (m: string) => Promise<unknown>)(who.value as string),
          onSuccess: (v: unknown) =>
            method === 'ttl'
              ? v === undefined || (typeof v === 'number' && v > 0)
                ? undefined
                : `it resolved ${String(v)}`
              : isBool(v),
        } as BadInputCall<unknown>);
        if (!outcome.ok && who.label === 'a fresh member' && (await set.has(who.value as string))) {
          throw new BadInputFailure(`${method}(a fresh member, ${ttl.label}) rejected but added the member`);
        }
        await expectNeighboursKept(set, neighbours, `${method}(${who.label})`);
      });
      for (const n of neighbours) await set.remove(n);
    },
  };
}
