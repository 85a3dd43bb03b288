import {
  readMetricLabelNames,
  readOptions,
  shownMetricName,
  validateMetricBuckets,
  validateMetricDescription,
  validateMetricName,
  validateMetricUnit,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

/** A Prometheus metric name prefix (may be empty). */
export const PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

// OpenTelemetry → Prometheus unit suffixes (the OTel Prometheus compatibility spec, abridged).
const UNITS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  bit: 'bits',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
  '1': '',
};
const PER_UNITS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  min: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** The Prometheus suffix for a UCUM-style unit (`s` → `seconds`, `By/s` → `bytes_per_second`). */
export function unitSuffix(unit: string | undefined): string {
  if (unit === undefined) return '';
  // Annotations such as `{request}` carry no unit.
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '') return '';
  const known = UNITS[bare];
  if (known !== undefined) return known;
  const slash = bare.indexOf('/');
  if (slash >= 0) {
    const top = bare.slice(0, slash);
    const bottom = bare.slice(slash + 1);
    const topName = top === '1' || top === '' ? '' : (UNITS[top] ?? sanitize(top));
    const bottomName = PER_UNITS[bottom] ?? UNITS[bottom] ?? sanitize(bottom);
    return topName === '' ? `per_${bottomName}` : `${topName}_per_${bottomName}`;
  }
  return sanitize(bare);
}

function sanitize(text: string): string {
  return text.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * The Prometheus name of a port instrument: dots become underscores, the unit is appended as a
 * suffix (`http.client.request.duration` + `s` → `http_client_request_duration_seconds`), and
 * counters end in `_total`.
 */
export function prometheusName(
  name: string,
  options: { unit?: string | undefined; counter: boolean; prefix: string },
): string {
  let out = options.prefix + sanitize(name);
  const suffix = unitSuffix(options.unit);
  if (suffix !== '' && !out.endsWith(`_${suffix}`)) out += `_${suffix}`;
  if (options.counter && !out.endsWith('_total')) out += '_total';
  return out;
}

/** A short, quoted rendering of a caller's name for an error message. */
export const shown = shownMetricName;

/**
 * Throws `INVALID_ARGUMENT` unless `name` is one the contracts' `Metrics` port accepts
 * (OpenTelemetry style, dots allowed: the contracts' rule).
 */
export function checkMetricName(name: unknown): asserts name is string {
  validateMetricName(name, MESSAGE_PREFIX);
}

/**
 * Returns a copy of `labelNames`; throws `INVALID_ARGUMENT` unless it is an array of distinct names Prometheus accepts
 * for a metric of this kind (the contracts' rule: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`, no `le` on a
 * histogram).
 */
export function checkLabelNames(labelNames: unknown, metric: string, kind: string): string[] {
  return readMetricLabelNames(labelNames, metric, kind, MESSAGE_PREFIX);
}

/** A declaration's options, read once (a Proxy or a throwing getter is `INVALID_ARGUMENT`, not its own error). */
export interface Declaration {
  readonly labelNames: unknown;
  readonly unit: string | undefined;
  readonly description: string | undefined;
  readonly buckets: unknown;
}

const DECLARATION_FIELDS = ['description', 'unit', 'labelNames', 'buckets'] as const;
const BUCKETS_FIELD = ['buckets'] as const;

/** A histogram's `buckets` option, read before it is declared (whatever reading throws is `INVALID_ARGUMENT`). */
export function readBuckets(options: unknown, metric: string): unknown {
  // Only one of the declaration's options: the rest are read (and checked) by readDeclaration.
  return readOptions(options, BUCKETS_FIELD, `options of ${metric}`, MESSAGE_PREFIX, { partial: true })
    .buckets;
}

/**
 * Reads a declaration's options once (the contracts' `readOptions`) and checks them (the
 * contracts' rule): `description` a string of at most 1024 code units, `unit` a string of at
 * most 64 without control characters (both may be left out). `labelNames` and `buckets` are
 * only read.
 */
export function readDeclaration(options: unknown, metric: string): Declaration {
  const { description, unit, labelNames, buckets } = readOptions(
    options,
    DECLARATION_FIELDS,
    `options of ${metric}`,
    MESSAGE_PREFIX,
  );
  validateMetricDescription(description, metric, MESSAGE_PREFIX);
  validateMetricUnit(unit, metric, MESSAGE_PREFIX);
  return { labelNames, unit, description, buckets };
}

/** Throws `INVALID_ARGUMENT` unless `buckets` are finite and strictly ascending (the contracts' rule). */
export function checkBuckets(buckets: unknown, what: string): asserts buckets is readonly number[] {
  validateMetricBuckets(buckets, what, MESSAGE_PREFIX);
}
