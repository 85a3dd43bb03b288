import { readList } from './caller-input.js';
import { InvalidArgumentError } from './errors.js';

/**
 * The rule of the `Metrics` port for declarations, in one place so that every implementation
 * (memory, no-op, Prometheus) refuses the same names, labels, units, descriptions and buckets
 * with the same `InvalidArgumentError`. `prefix` starts each message (e.g. `[voelgoed:telemetry]`).
 */

/** Instrument names the `Metrics` port accepts (OpenTelemetry style: dots allowed). */
export const METRIC_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;
/** Label names the `Metrics` port accepts (what Prometheus accepts). */
export const METRIC_LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Longest `description`, in UTF-16 code units: it is the HELP line of every Prometheus scrape. */
export const MAX_METRIC_DESCRIPTION_LENGTH = 1024;
/** Longest `unit`: it becomes part of a Prometheus name. */
export const MAX_METRIC_UNIT_LENGTH = 64;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A short, quoted rendering of a caller's name for an error message (a long one is cut). */
export function shownMetricName(name: unknown): string {
  return typeof name === 'string'
    ? JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)
    : typeof name;
}

/** Throws unless `name` matches {@link METRIC_NAME_PATTERN}. */
export function validateMetricName(name: unknown, prefix: string): asserts name is string {
  if (typeof name !== 'string' || !METRIC_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `${prefix} metric name must match ${METRIC_NAME_PATTERN.source}, got ${shownMetricName(name)}`,
    );
  }
}

/**
 * Returns a copy of `labelNames`; throws unless it is an array of distinct names matching
 * {@link METRIC_LABEL_NAME_PATTERN}, none starting with `__` (reserved for Prometheus's own
 * labels, `__name__` among them) and no `le` on a histogram (its bucket label). `metric` names
 * the instrument in messages; `kind` is its kind (`histogram`, `counter`, …).
 */
export function readMetricLabelNames(
  labelNames: unknown,
  metric: string,
  kind: string,
  prefix: string,
): string[] {
  const names = readList(labelNames, `labelNames of ${metric}`, prefix, (label) => {
    if (typeof label !== 'string' || !METRIC_LABEL_NAME_PATTERN.test(label)) {
      throw new InvalidArgumentError(
        `${prefix} label names of ${metric} must match ${METRIC_LABEL_NAME_PATTERN.source}, got ${shownMetricName(label)}`,
      );
    }
    if (label.startsWith('__')) {
      throw new InvalidArgumentError(
        `${prefix} label name ${shownMetricName(label)} of ${metric} is reserved (names starting with "__" are Prometheus's own)`,
      );
    }
    if (label === 'le' && kind === 'histogram') {
      throw new InvalidArgumentError(
        `${prefix} label name "le" of ${metric} is reserved for a histogram's buckets`,
      );
    }
    return label;
  });
  if (new Set(names).size !== names.length) {
    throw new InvalidArgumentError(`${prefix} label names of ${metric} must not repeat`);
  }
  return names;
}

/** Throws unless `description` is `undefined` or a string of at most {@link MAX_METRIC_DESCRIPTION_LENGTH} code units. */
export function validateMetricDescription(
  description: unknown,
  metric: string,
  prefix: string,
): asserts description is string | undefined {
  if (
    description !== undefined &&
    (typeof description !== 'string' || description.length > MAX_METRIC_DESCRIPTION_LENGTH)
  ) {
    throw new InvalidArgumentError(
      `${prefix} description of ${metric} must be a string of at most ${MAX_METRIC_DESCRIPTION_LENGTH} characters`,
    );
  }
}

/** Throws unless `unit` is `undefined` or a string of at most {@link MAX_METRIC_UNIT_LENGTH} without control characters. */
export function validateMetricUnit(
  unit: unknown,
  metric: string,
  prefix: string,
): asserts unit is string | undefined {
  if (
    unit !== undefined &&
    (typeof unit !== 'string' || unit.length > MAX_METRIC_UNIT_LENGTH || CONTROL.test(unit))
  ) {
    throw new InvalidArgumentError(
      `${prefix} unit of ${metric} must be a string of at most ${MAX_METRIC_UNIT_LENGTH} characters without control characters`,
    );
  }
}

/** Throws unless `buckets` is a non-empty array of finite, strictly ascending numbers; `what` names it. */
export function validateMetricBuckets(
  buckets: unknown,
  what: string,
  prefix: string,
): asserts buckets is readonly number[] {
  const message = `${prefix} ${what} must be a non-empty array of finite, strictly ascending numbers`;
  let previous = Number.NEGATIVE_INFINITY;
  const list = readList(buckets, what, prefix, (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= previous)
      throw new InvalidArgumentError(message);
    previous = v;
    return v;
  });
  if (list.length === 0) throw new InvalidArgumentError(message);
}
