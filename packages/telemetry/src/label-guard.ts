/** The value a label takes once its limit of distinct values is reached. */
export const OTHER = 'other';

/** Called once per folded value: which metric and label overflowed. */
export type OverflowListener = (metric: string, label: string) => void;

/**
 * The cardinality guard of one metric: each label admits at most `limit` distinct values; later
 * new values are folded into {@link OTHER} and reported to `onOverflow`, so no label can grow
 * the series count without bound.
 */
export class LabelGuard {
  readonly #seen: Set<string>[];

  constructor(
    readonly metric: string,
    readonly labelNames: readonly string[],
    readonly limit: number,
    readonly onOverflow: OverflowListener,
  ) {
    this.#seen = labelNames.map(() => new Set<string>());
  }

  /** `value` if the label at `index` admits it, otherwise {@link OTHER} (and counts the overflow). */
  fold(index: number, value: string): string {
    const seen = this.#seen[index]!;
    if (seen.has(value)) return value;
    if (seen.size < this.limit) {
      seen.add(value);
      return value;
    }
    this.onOverflow(this.metric, this.labelNames[index]!);
    return OTHER;
  }
}
