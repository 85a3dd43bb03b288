/**
 * The value a label takes once it is folded: past its limit of distinct values, too long, or
 * (all labels at once) in a metric's overflow series. No real value is ever exposed as this:
 * see {@link escapeLabelValue}.
 */
export const OTHER = '__other__';

// Real values of the marker's shape (two or more `_`, then `other__`) get one more leading `_`:
// the escaped ones then have three or more, so none equals OTHER and no two real values merge.
const MARKER_SHAPE = /^_{2,}other__$/;

/** A real label value as it is exposed: unchanged unless it has the shape of {@link OTHER}. */
export function escapeLabelValue(value: string): string {
  return value.endsWith('other__') && MARKER_SHAPE.test(value) ? `_${value}` : value;
}

/** Called once per folded value: which metric and label overflowed. */
export type OverflowListener = (metric: string, label: string) => void;

/** Limits of one {@link LabelGuard}. */
export interface LabelLimits {
  /** Distinct values each label admits (`Infinity`: no limit). */
  readonly maxValues: number;
  /** Longest value (UTF-16 code units) kept as it is; longer ones fold (`Infinity`: no limit). */
  readonly maxValueLength: number;
}

/**
 * The cardinality guard of one metric's labels: a value longer than `maxValueLength` folds into
 * {@link OTHER}; each label admits at most `maxValues` distinct values, later new values fold
 * too. Every fold is reported to `onOverflow`. Real values are escaped so that they never read
 * as the marker.
 */
export class LabelGuard {
  readonly #seen: Set<string>[];

  constructor(
    readonly metric: string,
    readonly labelNames: readonly string[],
    readonly limits: LabelLimits,
    readonly onOverflow: OverflowListener,
  ) {
    this.#seen = labelNames.map(() => new Set<string>());
  }

  /** The exposed value of `value` for the label at `index`: escaped, or {@link OTHER} (counted). */
  fold(index: number, value: string): string {
    const label = this.labelNames[index];
    const seen = this.#seen[index];
    if (label === undefined || seen === undefined)
      throw new RangeError(`${this.metric} has no label ${index}`);
    if (value.length > this.limits.maxValueLength) {
      this.onOverflow(this.metric, label);
      return OTHER;
    }
    const escaped = escapeLabelValue(value);
    if (this.limits.maxValues === Number.POSITIVE_INFINITY) return escaped;
    if (seen.has(escaped)) return escaped;
    if (seen.size < this.limits.maxValues) {
      seen.add(escaped);
      return escaped;
    }
    this.onOverflow(this.metric, label);
    return OTHER;
  }
}
