import { fieldsOf, readMetricLabelNames, refuseUnknownFields } from '@voelgoed/contracts';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import { checkBuckets } from './naming.js';

/** Options of prom-client's default process metrics (see prom-client's `collectDefaultMetrics`). */
export interface DefaultMetricsOptions {
  /** Labels added to every default metric. */
  labels?: Record<string, string>;
  /** Buckets of `nodejs_gc_duration_seconds`. */
  gcDurationBuckets?: number[];
  /** Event loop delay sampling precision, ms (default 10). */
  eventLoopMonitoringPrecision?: number;
}

/** The fields of {@link DefaultMetricsOptions}: any other (a typo, `prefix`, `register`) is refused. */
const FIELDS = fieldsOf<DefaultMetricsOptions>()([
  'labels',
  'gcDurationBuckets',
  'eventLoopMonitoringPrecision',
]);

/**
 * Labels prom-client's process metrics carry themselves (heap spaces, GC kinds, the Node
 * version, active resource types): a label of the same name would overwrite theirs and merge
 * their series.
 */
const OWN_LABELS = new Set(['type', 'space', 'kind', 'version', 'major', 'minor', 'patch']);

/** Longest event loop sampling precision accepted, ms. */
const MAX_PRECISION_MS = 60_000;

/**
 * The `defaultMetrics` option, checked before anything is registered: `undefined` when the
 * process metrics are not wanted, else the options for prom-client (a copy).
 */
export function readDefaultMetrics(value: unknown): DefaultMetricsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument('defaultMetrics must be true, false or an object of options');
  }
  refuseUnknownFields(value, FIELDS, 'defaultMetrics', MESSAGE_PREFIX);
  const given = value as DefaultMetricsOptions;
  const options: DefaultMetricsOptions = {};
  if (given.labels !== undefined) options.labels = readLabels(given.labels);
  if (given.gcDurationBuckets !== undefined) {
    checkBuckets(given.gcDurationBuckets, 'defaultMetrics.gcDurationBuckets');
    options.gcDurationBuckets = [...given.gcDurationBuckets];
  }
  const precision = given.eventLoopMonitoringPrecision;
  if (precision !== undefined) {
    if (!Number.isInteger(precision) || precision < 1 || precision > MAX_PRECISION_MS) {
      throw invalidArgument(
        `defaultMetrics.eventLoopMonitoringPrecision must be a whole number of ms from 1 to ${MAX_PRECISION_MS}`,
      );
    }
    options.eventLoopMonitoringPrecision = precision;
  }
  return options;
}

/** Label names as Prometheus allows them (not `le`: the GC histogram has buckets), string values. */
function readLabels(labels: unknown): Record<string, string> {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw invalidArgument('defaultMetrics.labels must be an object of label names and string values');
  }
  const entries = Object.entries(labels);
  readMetricLabelNames(
    entries.map(([name]) => name),
    'the default metrics',
    'histogram',
    MESSAGE_PREFIX,
  );
  for (const [name, v] of entries) {
    if (OWN_LABELS.has(name)) {
      throw invalidArgument(
        `defaultMetrics.labels.${name}: the default metrics have a label of that name themselves`,
      );
    }
    if (typeof v !== 'string') throw invalidArgument(`defaultMetrics.labels.${name} must be a string`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * Registers prom-client's process metrics on `registry`; returns the names it added (all of
 * them, also when it failed halfway, so the caller can remove them). A clash with a metric the
 * registry already has (two telemetries with default metrics on one registry, or prom-client's
 * own call) is an `INVALID_ARGUMENT`.
 */
export function registerDefaultMetrics(
  registry: Registry,
  options: DefaultMetricsOptions,
  prefix: string,
  added: string[],
): void {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  try {
    collectDefaultMetrics({ ...options, register: registry, prefix });
  } catch (error) {
    throw invalidArgument(
      `defaultMetrics: cannot register the process metrics on this registry (${(error as Error)?.message ?? String(error)})`,
    );
  } finally {
    for (const metric of registry.getMetricsAsArray()) {
      if (!before.has(metric.name)) added.push(metric.name);
    }
  }
}
