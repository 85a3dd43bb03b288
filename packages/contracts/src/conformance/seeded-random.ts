/**
 * A small seeded pseudo-random source (mulberry32) for the bad-input suites: the same seed gives
 * the same sequence on every machine, so a failing run can be replayed from the seed it prints.
 * Not for anything secret.
 */
export class SeededRandom {
  /** The seed this source started from (an unsigned 32-bit integer). */
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`[voelgoed:contracts] the seed must be an integer, got ${String(seed)}`);
    }
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /** The next float in [0, 1). */
  next(): number {
    // mulberry32 (Tommy Ettinger): 32 bits of state, passes gjrand/PractRand for these sizes.
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, max). */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  /** An integer in [min, max] (both inclusive). */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('[voelgoed:contracts] pick from an empty list');
    return items[this.int(items.length)] as T;
  }
}

/** `seed` as it is printed in failure messages (hex, so it is easy to copy into an env var). */
export function formatSeed(seed: number): string {
  return `0x${(seed >>> 0).toString(16)}`;
}
