import { expect } from './assert.js';
import type { MetricsHarness } from './metrics.js';
import { n } from './metrics-support.js';
import type { ConformanceCheck } from './shared.js';

// Metrics suite, recording: what each kind of instrument keeps of what it is given.

/** Counters, up-down counters, gauges and histograms each keep their own kind of value. */
export function instrumentKindChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
  ];
}

/** An observable gauge reads its callback when read. */
export function observableGaugeChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
  ];
}
