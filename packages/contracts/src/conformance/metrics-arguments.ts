import { ErrorCodes } from '../errors.js';
import { expect } from './assert.js';
import type { MetricsHarness } from './metrics.js';
import { BAD_NUMBERS, n } from './metrics-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// Metrics suite, arguments: bad names, kinds, values and labels throw INVALID_ARGUMENT.

const { INVALID_ARGUMENT } = ErrorCodes;

/** Bad names, and a name taken by another kind of instrument, are refused. */
export function nameChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
  ];
}

/** Label names an instrument did not declare are refused, in calls and in bind. */
export function labelChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
        await expectInfrastructureError(
          () => metrics.counter(plain).add(1, { route: '/a' }),
          INVALID_ARGUMENT,
        );
        counter.add(1, { route: '/a' });
        expect(await read(c, { route: '/a' })).toBe(1);
      },
    },
  ];
}

/** Negative counter increments and non-finite values are refused and record nothing. */
export function valueChecks(): ConformanceCheck<MetricsHarness>[] {
  return [
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
  ];
}
