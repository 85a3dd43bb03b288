import { expect } from './assert.js';
import type { MetricsHarness } from './metrics.js';
import { n } from './metrics-support.js';
import type { ConformanceCheck } from './shared.js';

// Metrics suite, series: labels, instrument identity and bound handles.

/** Which series a write lands in: by label set, by instrument name, through a bound handle. */
export function seriesChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
  ];
}
