import { randomUUID } from 'node:crypto';
import { ErrorCodes } from '../errors.js';
import { MemoryMetrics } from '../memory/memory-metrics.js';
import type { MetricLabels, Metrics } from '../ports/metrics.js';
import { expect } from './assert.js';
import { lifecycleChecks } from './lifecycle.js';
import { metricsBadInputCheck } from './metrics-bad-input.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeSuite,
  expectInfrastructureError,
} from './shared.js';

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

const { INVALID_ARGUMENT } = ErrorCodes;
const BAD_NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** A fresh, valid metric name (dots allowed, as in OpenTelemetry names). */
const n = () => `conformance.m_${randomUUID().replaceAll('-', '')}`;

/**
 * The checks of {@link describeMetrics}, each a named `(harness) => Promise<void>`. The names
 * are stable: tests may pick checks by name (see `findCheck`).
 */
export const metricsChecks: readonly ConformanceCheck<MetricsHarness>[] = [
  {
    name: 'a counter adds 1 by default, or the value given',
    async run({ metrics, read }) {
      const name = n();
      const counter = metrics.counter(name, { description: 'test', unit: '{request}' });
      counter.add();
      expect(await read(name)).toBe(1);
      counter.add(2.5);
      counter.add(0);
      expect(await read(name)).toBe(3.5);
    },
  },
  {
    name: 'labels keep series apart; number and boolean label values read back as strings',
    async run({ metrics, read }) {
      const name = n();
      const counter = metrics.counter(name, { labelNames: ['method', 'status', 'ok'] });
      counter.add(2, { method: 'GET', status: 200, ok: true });
      counter.add(5, { method: 'POST', status: 500, ok: false });
      counter.add(1, { method: 'GET', status: '200', ok: 'true' });
      expect(await read(name, { method: 'GET', status: '200', ok: 'true' })).toBe(3);
      expect(await read(name, { method: 'POST', status: 500, ok: false })).toBe(5);
      expect(await read(name, { method: 'PUT', status: '200', ok: 'true' })).toBeUndefined();
    },
  },
  {
    name: 'asking twice for the same name and kind gives the same instrument',
    async run({ metrics, read }) {
      const name = n();
      metrics.counter(name, { labelNames: ['a'] }).add(1, { a: 'x' });
      metrics.counter(name, { labelNames: ['a'] }).add(2, { a: 'x' });
      expect(await read(name, { a: 'x' })).toBe(3);
      const h = n();
      metrics.histogram(h).record(1);
      metrics.histogram(h).record(2);
      expect(await read(h)).toEqual({ count: 2, sum: 3 });
    },
  },
  {
    name: 'bound handles write to the same series as labelled calls',
    async run({ metrics, read }) {
      const names = [n(), n(), n(), n()] as const;
      const opts = { labelNames: ['route'] };
      const labels = { route: '/a' };
      const counter = metrics.counter(names[0], opts);
      counter.bind(labels).add();
      counter.bind(labels).add(2);
      counter.add(3, labels);
      expect(await read(names[0], labels)).toBe(6);
      const upDown = metrics.upDownCounter(names[1], opts);
      upDown.bind(labels).add(5);
      upDown.add(-2, labels);
      expect(await read(names[1], labels)).toBe(3);
      const gauge = metrics.gauge(names[2], opts);
      gauge.set(1, labels);
      gauge.bind(labels).set(7);
      expect(await read(names[2], labels)).toBe(7);
      const histogram = metrics.histogram(names[3], opts);
      histogram.bind(labels).record(0.5);
      histogram.record(1.5, labels);
      expect(await read(names[3], labels)).toEqual({ count: 2, sum: 2 });
    },
  },
  {
    name: 'an up-down counter goes up and down, below zero too',
    async run({ metrics, read }) {
      const name = n();
      const gauge = metrics.upDownCounter(name);
      gauge.add(5);
      gauge.add(-7);
      expect(await read(name)).toBe(-2);
      gauge.add(2.5);
      expect(await read(name)).toBe(0.5);
    },
  },
  {
    name: 'a gauge keeps the last value set, per label set',
    async run({ metrics, read }) {
      const name = n();
      const gauge = metrics.gauge(name, { labelNames: ['queue'] });
      gauge.set(10, { queue: 'a' });
      gauge.set(-3, { queue: 'a' });
      gauge.set(4, { queue: 'b' });
      expect(await read(name, { queue: 'a' })).toBe(-3);
      expect(await read(name, { queue: 'b' })).toBe(4);
    },
  },
  {
    name: 'a histogram counts and sums what was recorded, per label set',
    async run({ metrics, read }) {
      const name = n();
      const histogram = metrics.histogram(name, {
        unit: 's',
        labelNames: ['op'],
        buckets: [0.005, 0.01, 0.1, 1, 10],
      });
      for (const v of [0.002, 0.05, 0.5, 20]) histogram.record(v, { op: 'get' });
      histogram.record(1, { op: 'put' });
      const got = (await read(name, { op: 'get' })) as { count: number; sum: number };
      expect(got.count).toBe(4);
      expect(got.sum).toBeCloseTo(20.552, 9);
      expect(await read(name, { op: 'put' })).toEqual({ count: 1, sum: 1 });
    },
  },
  {
    name: 'an observable gauge reports what its callback observes at read time',
    async run({ metrics, read }) {
      const name = n();
      let depth = 3;
      metrics.observableGauge(
        name,
        (result) => {
          result.observe(depth, { queue: 'jobs' });
          result.observe(depth * 2, { queue: 'mail' });
        },
        { labelNames: ['queue'] },
      );
      expect(await read(name, { queue: 'jobs' })).toBe(3);
      depth = 8;
      expect(await read(name, { queue: 'jobs' })).toBe(8);
      expect(await read(name, { queue: 'mail' })).toBe(16);
      const asyncName = n();
      metrics.observableGauge(asyncName, async (result) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        result.observe(42);
      });
      expect(await read(asyncName)).toBe(42);
    },
  },
  {
    name: 'bad names throw INVALID_ARGUMENT for every kind of instrument',
    async run({ metrics }) {
      const bad = ['', '1abc', 'a-b', 'a b', 'a/b', 'naïve', 'a:b', 42 as unknown as string];
      for (const name of bad) {
        await expectInfrastructureError(() => metrics.counter(name), INVALID_ARGUMENT);
        await expectInfrastructureError(() => metrics.upDownCounter(name), INVALID_ARGUMENT);
        await expectInfrastructureError(() => metrics.histogram(name), INVALID_ARGUMENT);
        await expectInfrastructureError(() => metrics.gauge(name), INVALID_ARGUMENT);
        await expectInfrastructureError(() => metrics.observableGauge(name, () => {}), INVALID_ARGUMENT);
      }
      // Valid shapes: dots, underscores, digits after the first character.
      metrics.counter(`_ok.${n()}_2`);
    },
  },
  {
    name: 'the same name with another kind throws INVALID_ARGUMENT',
    async run({ metrics, read }) {
      const name = n();
      metrics.counter(name).add(1);
      await expectInfrastructureError(() => metrics.gauge(name), INVALID_ARGUMENT);
      await expectInfrastructureError(() => metrics.histogram(name), INVALID_ARGUMENT);
      await expectInfrastructureError(() => metrics.upDownCounter(name), INVALID_ARGUMENT);
      await expectInfrastructureError(() => metrics.observableGauge(name, () => {}), INVALID_ARGUMENT);
      const other = n();
      metrics.histogram(other);
      await expectInfrastructureError(() => metrics.counter(other), INVALID_ARGUMENT);
      expect(await read(name)).toBe(1);
    },
  },
  {
    name: 'a negative or non-finite counter increment throws INVALID_ARGUMENT and counts nothing',
    async run({ metrics, read }) {
      const name = n();
      const counter = metrics.counter(name);
      counter.add(1);
      const bound = counter.bind({});
      for (const v of [-1, -0.5, ...BAD_NUMBERS, '1' as unknown as number]) {
        await expectInfrastructureError(() => counter.add(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => bound.add(v), INVALID_ARGUMENT);
      }
      expect(await read(name)).toBe(1);
    },
  },
  {
    name: 'non-finite values throw INVALID_ARGUMENT for up-down counters, gauges and histograms',
    async run({ metrics, read }) {
      const [u, g, h] = [n(), n(), n()];
      const upDown = metrics.upDownCounter(u);
      const gauge = metrics.gauge(g);
      const histogram = metrics.histogram(h);
      upDown.add(1);
      gauge.set(1);
      histogram.record(1);
      for (const v of BAD_NUMBERS) {
        await expectInfrastructureError(() => upDown.add(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => upDown.bind({}).add(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => gauge.set(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => gauge.bind({}).set(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => histogram.record(v), INVALID_ARGUMENT);
        await expectInfrastructureError(() => histogram.bind({}).record(v), INVALID_ARGUMENT);
      }
      expect(await read(u)).toBe(1);
      expect(await read(g)).toBe(1);
      expect(await read(h)).toEqual({ count: 1, sum: 1 });
    },
  },
  {
    name: 'undeclared label names throw INVALID_ARGUMENT (calls and bind)',
    async run({ metrics, read }) {
      const [c, u, g, h, plain] = [n(), n(), n(), n(), n()];
      const opts = { labelNames: ['route'] };
      const counter = metrics.counter(c, opts);
      const upDown = metrics.upDownCounter(u, opts);
      const gauge = metrics.gauge(g, opts);
      const histogram = metrics.histogram(h, opts);
      const bad = { route: '/a', user: 'u1' };
      await expectInfrastructureError(() => counter.add(1, bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => counter.bind(bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => upDown.add(1, bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => upDown.bind(bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => gauge.set(1, bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => gauge.bind(bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => histogram.record(1, bad), INVALID_ARGUMENT);
      await expectInfrastructureError(() => histogram.bind(bad), INVALID_ARGUMENT);
      // An instrument declared without label names takes no labels.
      await expectInfrastructureError(() => metrics.counter(plain).add(1, { route: '/a' }), INVALID_ARGUMENT);
      counter.add(1, { route: '/a' });
      expect(await read(c, { route: '/a' })).toBe(1);
    },
  },
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
