import { readList } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** Names the contracts' `Metrics` port accepts (OpenTelemetry style, dots allowed). */
export const PORT_NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;
/** Label names (Prometheus and the port agree). */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
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
export function shown(name: unknown): string {
  return typeof name === 'string'
    ? JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)
    : typeof name;
}

/**
 * Returns a copy of `labelNames`; throws `INVALID_ARGUMENT` unless it is an array of distinct names Prometheus accepts
 * for a metric of this kind: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved for
 * Prometheus's own labels, `__name__` among them), and no `le` on a histogram (its bucket label).
 */
export function checkLabelNames(labelNames: unknown, metric: string, kind: string): string[] {
  const names = readArray(labelNames, `labelNames of ${metric}`, (label) => {
    if (typeof label !== 'string' || !LABEL_NAME.test(label)) {
      throw invalidArgument(`label names of ${metric} must match ${LABEL_NAME.source}, got ${shown(label)}`);
    }
    if (label.startsWith('__')) {
      throw invalidArgument(
        `label name ${shown(label)} of ${metric} is reserved (names starting with "__" are Prometheus's own)`,
      );
    }
    if (label === 'le' && kind === 'histogram') {
      throw invalidArgument(`label name "le" of ${metric} is reserved for a histogram's buckets`);
    }
    return label;
  });
  if (new Set(names).size !== names.length) {
    throw invalidArgument(`label names of ${metric} must not repeat`);
  }
  return names;
}

/** Longest `description` (UTF-16 code units): it is the HELP line of every scrape. */
export const MAX_DESCRIPTION_LENGTH = 1024;
/** Longest `unit`: it becomes part of the Prometheus name. */
export const MAX_UNIT_LENGTH = 64;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A declaration's options, read once (a Proxy or a throwing getter is `INVALID_ARGUMENT`, not its own error). */
export interface Declaration {
  readonly labelNames: unknown;
  readonly unit: string | undefined;
  readonly description: string | undefined;
  readonly buckets: unknown;
}

/** One field of a caller's options object; whatever reading it throws is `INVALID_ARGUMENT`. */
export function readField(options: unknown, field: string, metric: string): unknown {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object')
    throw invalidArgument(`options of ${metric} must be an object`);
  try {
    return (options as Record<string, unknown>)[field];
  } catch {
    throw invalidArgument(`options.${field} of ${metric} could not be read`);
  }
}

/**
 * Reads and checks a declaration's options: `description` a string of at most
 * {@link MAX_DESCRIPTION_LENGTH} code units, `unit` a string of at most {@link MAX_UNIT_LENGTH}
 * without control characters (both may be left out). `labelNames` and `buckets` are only read.
 */
export function readDeclaration(options: unknown, metric: string): Declaration {
  const description = readField(options, 'description', metric);
  if (
    description !== undefined &&
    (typeof description !== 'string' || description.length > MAX_DESCRIPTION_LENGTH)
  ) {
    throw invalidArgument(
      `description of ${metric} must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`,
    );
  }
  const unit = readField(options, 'unit', metric);
  if (
    unit !== undefined &&
    (typeof unit !== 'string' || unit.length > MAX_UNIT_LENGTH || CONTROL.test(unit))
  ) {
    throw invalidArgument(
      `unit of ${metric} must be a string of at most ${MAX_UNIT_LENGTH} characters without control characters`,
    );
  }
  return {
    labelNames: readField(options, 'labelNames', metric),
    unit,
    description,
    buckets: readField(options, 'buckets', metric),
  };
}

/** The elements of a caller's array, read one by one, each passed through `check` (see contracts' readList). */
const readArray = <T>(list: unknown, what: string, check: (item: unknown, index: number) => T): T[] =>
  readList(list, what, MESSAGE_PREFIX, check);

/** Throws `INVALID_ARGUMENT` unless `buckets` are finite and strictly ascending. */
export function checkBuckets(buckets: unknown, what: string): asserts buckets is readonly number[] {
  const message = `${what} must be a non-empty array of finite, strictly ascending numbers`;
  let previous = Number.NEGATIVE_INFINITY;
  const list = readArray(buckets, what, (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= previous) throw invalidArgument(message);
    previous = v;
    return v;
  });
  if (list.length === 0) throw invalidArgument(message);
}
