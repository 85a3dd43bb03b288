/**
 * Counts in a sliding window of `bucketCount` buckets: cheap to add to, approximate to the width
 * of one bucket. `slots` counters per bucket (e.g. requests and retries).
 */
export class SlidingWindow {
  readonly #bucketMs: number;
  /** The tick each bucket counts (-1: none yet). */
  readonly #stamps: number[];
  /** `slots` counters per bucket, bucket after bucket. */
  readonly #counts: number[];

  constructor(
    windowMs: number,
    readonly slots: number,
    bucketCount = 10,
  ) {
    this.#bucketMs = Math.max(1, Math.ceil(windowMs / bucketCount));
    this.#stamps = new Array<number>(bucketCount).fill(-1);
    this.#counts = new Array<number>(bucketCount * slots).fill(0);
  }

  add(slot: number, now = Date.now(), amount = 1): void {
    const tick = Math.floor(now / this.#bucketMs);
    const index = tick % this.#stamps.length;
    const first = index * this.slots;
    if (this.#stamps[index] !== tick) {
      this.#stamps[index] = tick;
      this.#counts.fill(0, first, first + this.slots);
    }
    this.#counts[first + slot] = (this.#counts[first + slot] ?? 0) + amount;
  }

  /** Sum of `slot` over the window ending now. */
  sum(slot: number, now = Date.now()): number {
    const tick = Math.floor(now / this.#bucketMs);
    const oldest = tick - this.#stamps.length + 1;
    let total = 0;
    for (let i = 0; i < this.#stamps.length; i++) {
      const stamp = this.#stamps[i];
      if (stamp !== undefined && stamp >= oldest && stamp <= tick) {
        total += this.#counts[i * this.slots + slot] ?? 0;
      }
    }
    return total;
  }

  reset(): void {
    this.#stamps.fill(-1);
  }
}
