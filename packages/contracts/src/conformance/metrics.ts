import { MemoryMetrics } from '../memory/memory-metrics.js';
import type { MetricLabels, Metrics } from '../ports/metrics.js';
import { lifecycleChecks } from './lifecycle.js';
import { labelChecks, nameChecks, valueChecks } from './metrics-arguments.js';
import { metricsBadInputCheck } from './metrics-bad-input.js';
import { instrumentKindChecks, observableGaugeChecks } from './metrics-recording.js';
import { seriesChecks } from './metrics-series.js';
import { type ConformanceCheck, type ConformanceOptions, describeSuite } from './shared.js';

// The Metrics suite is split by topic, one file each (metrics-<topic>.ts); this file holds the
// harness a suite runs against and composes the topics in order.

/** A value read back: a number for counters and gauges, count and sum for a histogram. */
export type MetricReading = number | { count: number; sum: number };

/**
 * What the {@link describeMetrics} factory gives: the implementation, and a way to read a series
 * back (a Prometheus-backed one reads its registry; the in-memory one its records).
 */
export interface MetricsHarness {
  metrics: Metrics;
  /**
   * The current value of `name` for exactly `labels` (label values compared as strings),
   * running observable callbacks first; `undefined` when nothing was recorded for them.
   */
  read(name: string, labels?: MetricLabels): Promise<MetricReading | undefined>;
}

/** Options of {@link describeMetrics}. */
export type MetricsConformanceOptions<T extends MetricsHarness = MetricsHarness> = ConformanceOptions<T>;

/** A {@link MetricsHarness} over a {@link MemoryMetrics}. */
export function memoryMetricsHarness(metrics: MemoryMetrics = new MemoryMetrics()): MetricsHarness & {
  metrics: MemoryMetrics;
} {
  return {
    metrics,
    async read(name, labels) {
      await metrics.collect();
      if (metrics.kindOf(name) === 'histogram') {
        const snapshot = metrics.histogramSnapshot(name, labels);
        return snapshot && { count: snapshot.count, sum: snapshot.sum };
      }
      return metrics.value(name, labels);
    },
  };
}

/**
 * The checks of {@link describeMetrics}, each a named `(harness) => Promise<void>`. The names
 * are stable: tests may pick checks by name (see `findCheck`).
 */
export const metricsChecks: readonly ConformanceCheck<MetricsHarness>[] = [
  ...instrumentKindChecks(),
  ...seriesChecks(),
  ...observableGaugeChecks(),
  ...nameChecks(),
  ...labelChecks(),
  ...valueChecks(),
  metricsBadInputCheck(),
  ...lifecycleChecks<MetricsHarness>((harness) => harness.metrics),
];

/**
 * Registers the {@link Metrics} conformance suite. The factory returns a {@link MetricsHarness}:
 * the implementation and a way to read values back.
 *
 * @example
 * describeMetrics('MemoryMetrics', () => memoryMetricsHarness());
 * describeMetrics('Telemetry', () => {
 *   const metrics = createTelemetry({ events: false });
 *   return { metrics, read: (name, labels) => readScrape(metrics, name, labels) }; // parses scrape()
 * }, { teardown: ({ metrics }) => metrics.close() });
 */
export function describeMetrics<T extends MetricsHarness>(
  factory: () => T | Promise<T>,
  options?: MetricsConformanceOptions<T>,
): void;
export function describeMetrics<T extends MetricsHarness>(
  name: string,
  factory: () => T | Promise<T>,
  options?: MetricsConformanceOptions<T>,
): void;
export function describeMetrics(...args: unknown[]): void {
  describeSuite<MetricsHarness>('describeMetrics', 'Metrics conformance', metricsChecks, args);
}
