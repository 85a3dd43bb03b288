/** Called once per label set sent to the overflow series: which metric overflowed. */
export type SeriesOverflowListener = (metric: string) => void;

/**
 * The series cap of one metric: it admits at most `limit` distinct label sets (by prom-client's
 * series key); a label set seen before stays admitted, a new one past the limit is refused and
 * reported to `onOverflow`, and the caller records it in the metric's one overflow series. The
 * per-label guard alone cannot bound a metric: three labels of 100 values each still make a
 * million combinations.
 */
export class SeriesGuard {
  readonly #admitted = new Set<string>();

  constructor(
    readonly metric: string,
    readonly limit: number,
    readonly onOverflow: SeriesOverflowListener,
  ) {}

  /** True when the series `hash` may exist (seen before, or room left); false counts an overflow. */
  admit(hash: string): boolean {
    const admitted = this.#admitted;
    if (admitted.has(hash)) return true;
    if (admitted.size < this.limit) {
      admitted.add(hash);
      return true;
    }
    this.onOverflow(this.metric);
    return false;
  }
}
