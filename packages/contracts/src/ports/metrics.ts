import type { Resource } from './health.js';

/** Label values by label name. Only names declared with the instrument are allowed. */
export type MetricLabels = Readonly<Record<string, string | number | boolean>>;

/** Declaration of an instrument (OpenTelemetry-style names such as `http.client.request.duration`). */
export interface InstrumentOptions {
  description?: string;
  /** UCUM-style unit: `s`, `ms`, `By`, `1`, `{request}`. */
  unit?: string;
  /** The fixed set of label names this instrument accepts. */
  labelNames?: readonly string[];
}

export interface HistogramOptions extends InstrumentOptions {
  /** Bucket boundaries hint (ascending). */
  buckets?: readonly number[];
}

/** Monotonic: only non-negative increments. */
export interface Counter {
  add(value?: number, labels?: MetricLabels): void;
  /** A handle with the labels already resolved (no label hashing per call). */
  bind(labels: MetricLabels): BoundCounter;
}
export interface BoundCounter {
  add(value?: number): void;
}

/** May go up and down (queue depth, in-flight requests). */
export interface UpDownCounter {
  add(value: number, labels?: MetricLabels): void;
  bind(labels: MetricLabels): BoundUpDownCounter;
}
export interface BoundUpDownCounter {
  add(value: number): void;
}

export interface Histogram {
  record(value: number, labels?: MetricLabels): void;
  bind(labels: MetricLabels): BoundHistogram;
}
export interface BoundHistogram {
  record(value: number): void;
}

/** The last value set wins. */
export interface Gauge {
  set(value: number, labels?: MetricLabels): void;
  bind(labels: MetricLabels): BoundGauge;
}
export interface BoundGauge {
  set(value: number): void;
}

/** Receives values when metrics are collected. */
export interface ObservableResult {
  observe(value: number, labels?: MetricLabels): void;
}
export type ObservableCallback = (result: ObservableResult) => void | Promise<void>;

/**
 * Application metrics, shaped like the OpenTelemetry metrics API. Asking twice for the same
 * name and kind gives the same instrument; the same name with another kind, a name that is
 * not `[a-zA-Z_][a-zA-Z0-9_.]*`, a negative counter increment, a non-finite value or an
 * undeclared label name throws `InvalidArgumentError`.
 *
 * Label names match `[a-zA-Z_][a-zA-Z0-9_]*` and do not repeat. Reserved, and refused with
 * `InvalidArgumentError`: every name starting with `__` (Prometheus's own, such as `__name__`),
 * and `le` on a histogram (its bucket label). So are a `description` that is not a string of
 * at most 1,024 characters, a `unit` that is not a string of at most 64 characters without
 * control characters, empty or non-ascending `buckets`, and options or labels that cannot be
 * read (a Proxy or getter that throws).
 */
export interface Metrics extends Resource {
  counter(name: string, options?: InstrumentOptions): Counter;
  upDownCounter(name: string, options?: InstrumentOptions): UpDownCounter;
  histogram(name: string, options?: HistogramOptions): Histogram;
  gauge(name: string, options?: InstrumentOptions): Gauge;
  /** A gauge whose value `callback` reports at collection time. */
  observableGauge(name: string, callback: ObservableCallback, options?: InstrumentOptions): void;
}
