import type { Cache } from '../ports/cache.js';
import { BadInputFailure, type BadInputOptions, resolveBadInputOptions, runJunkRuns } from './bad-input.js';
import { isJunkError, type Junk } from './junk.js';
import { type ConformanceCheck, randomKey } from './shared.js';

const DEFAULTS = { seed: 0x63616368, runs: 600 };

/**
 * Keys seeded before the runs, and junk keys that differ from them only by a lone surrogate, a
 * normalisation form or a NUL.
 */
function neighbourhood(base: string): { neighbours: string[]; nearMisses: Junk[] } {
  return {
    neighbours: [`${base}:plain`, `${base}\ufffd`, `${base}é`, `${base}😀`],
    nearMisses: [
      { label: 'a neighbour with a lone high surrogate for its U+FFFD', value: `${base}\ud800` },
      { label: 'a neighbour with half of its emoji', value: `${base}\ud83d` },
      { label: 'a neighbour in NFD', value: `${base}e\u0301` },
      { label: 'a neighbour with a NUL after it', value: `${base}:plain\0` },
    ],
  };
}

/** Throws unless every neighbour still holds what it was seeded with (`{ neighbour: i }`). */
async function expectNeighboursKept(
  cache: Cache<unknown>,
  neighbours: string[],
  after: string,
): Promise<void> {
  for (const [i, n] of neighbours.entries()) {
    const value = (await cache.get(n)) as { neighbour?: unknown } | undefined;
    if (value?.neighbour !== i) throw new BadInputFailure(`after ${after}: neighbour ${i} changed`);
  }
}

/**
 * The bad-input check of the {@link Cache} suite: `runs` calls of `get`, `set` or `delete`, each
 * with seeded junk as the key, the value, the TTL or the loader. Each must resolve or reject with
 * `INVALID_ARGUMENT` within the deadline (a junk loader's own throw may pass through), never
 * throw synchronously, reject with a plain error or hang; a value stored must read back; and no
 * call may change the neighbour keys seeded before the runs (some differ from keys in the junk
 * only by a lone surrogate or a normalisation form).
 */
export function cacheBadInputCheck(options: BadInputOptions = {}): ConformanceCheck<Cache<unknown>> {
  return {
    name: 'random junk in every argument gives INVALID_ARGUMENT or a success, never a plain error, a hang or a changed neighbour',
    timeoutMs: 120_000,
    async run(cache) {
      const settings = resolveBadInputOptions(options, DEFAULTS);
      const { neighbours, nearMisses } = neighbourhood(randomKey('cache-junk'));
      for (const [i, n] of neighbours.entries()) await cache.set(n, { neighbour: i });

      await runJunkRuns('Cache', settings, async ({ junk, random, call }) => {
        const fresh: Junk = { label: 'a fresh key', value: randomKey('cache-junk') };
        const r = random.next();
        const junkKey = r < 0.2 ? random.pick(nearMisses) : r < 0.6 ? junk.string() : junk.any();
        const method = random.pick(['get', 'set', 'delete'] as const);
        const target = random.pick(['key', 'other', 'both']);
        const key = target === 'other' ? fresh : junkKey;
        let label: string;
        if (method === 'delete') {
          label = `delete(${key.label})`;
          await call({ label, invoke: () => cache.delete(key.value as string) });
        } else if (method === 'get') {
          const loader: Junk =
            target === 'key' ? { label: 'no loader', value: undefined } : junk.prefer('function');
          label = `get(${key.label}, ${loader.label})`;
          await call({
            label,
            invoke: () => cache.get(key.value as string, loader.value as never),
            passThrough: (e) =>
              typeof loader.value === 'function' && (isJunkError(e) || e instanceof TypeError),
          });
        } else {
          const value: Junk = target === 'key' ? { label: "'v'", value: 'v' } : junk.any();
          const ttl: Junk = random.chance(0.3)
            ? junk.prefer('number')
            : { label: 'no TTL', value: undefined };
          label = `set(${key.label}, ${value.label}, ${ttl.label})`;
          await call({
            label,
            invoke: () => cache.set(key.value as string, value.value, ttl.value as number),
            onSuccess: async () =>
              ttl.value === undefined &&
              typeof key.value === 'string' &&
              (await cache.get(key.value)) === undefined
                ? 'the value stored did not read back'
                : undefined,
          });
        }
        await expectNeighboursKept(cache, neighbours, label);
      });
      for (const n of neighbours) await cache.delete(n);
    },
  };
}
