import { afterEach, describe, expect, it } from '@jest/globals';
import { Channels, createPublisher, isInfrastructureError, type Metrics } from '@voelgoed/contracts';
import {
  createNoopMetrics,
  createTelemetry,
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  MetricNames,
  OTHER,
  type Telemetry,
} from '../src/index.js';
import { find, parseExposition, value } from './exposition.js';

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ events: false, ...options });
  open.push(t);
  return t;
}
function invalid(fn: () => unknown): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
  return caught as Error;
}

describe('label names', () => {
  const implementations: [string, () => Metrics][] = [
    ['createTelemetry', () => telemetry()],
    ['createNoopMetrics', () => createNoopMetrics()],
  ];

  it.each(implementations)('%s refuses reserved and invalid label names for every kind', (_, create) => {
    const metrics = create();
    const kinds = [
      (labelNames: string[]) => metrics.counter('c', { labelNames }),
      (labelNames: string[]) => metrics.upDownCounter('u', { labelNames }),
      (labelNames: string[]) => metrics.histogram('h', { labelNames }),
      (labelNames: string[]) => metrics.gauge('g', { labelNames }),
      (labelNames: string[]) => metrics.observableGauge('o', () => {}, { labelNames }),
    ];
    for (const declare of kinds) {
      for (const bad of ['__name__', '__meta_x', '__', 'a-b', 'naïve', '', '1a', 'a b']) {
        const error = invalid(() => declare(['ok', bad]));
        expect(error.message).toMatch(/^\[voelgoed:telemetry\] label name/);
      }
      expect(invalid(() => declare(['__name__'])).message).toMatch(/"__name__" .*reserved/);
    }
    expect(invalid(() => metrics.histogram('h', { labelNames: ['le'] })).message).toMatch(/"le"/);
    // A single leading underscore is the caller's own, and `le` is only the histogram's.
    metrics.counter('fine', { labelNames: ['_private', 'le'] }).add(1, { _private: 'x', le: '1' });
  });

  it('never echoes a huge label name in full', () => {
    const t = telemetry();
    const name = `__${'x'.repeat(100_000)}`;
    expect(invalid(() => t.counter('c', { labelNames: [name] })).message.length).toBeLessThan(300);
    const c = t.counter('d', { labelNames: ['a'] });
    expect(invalid(() => c.add(1, { [name]: 'v' })).message.length).toBeLessThan(300);
  });
});

describe('label values', () => {
  it('fold a value longer than maxLabelValueLength into the marker and count it', async () => {
    const t = telemetry();
    const c = t.counter('uploads', { labelNames: ['name', 'kind'] });
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const longest = 'y'.repeat(DEFAULT_MAX_LABEL_VALUE_LENGTH);
    c.add(1, { name: huge, kind: 'a' });
    c.bind({ name: `${huge}2`, kind: 'a' }).add(1);
    c.add(1, { name: longest, kind: 'a' });
    c.add(1, { name: `${longest}z`, kind: 'a' });
    const text = await t.scrape();
    expect(text.length).toBeLessThan(10_000);
    const s = parseExposition(text);
    expect(value(s, 'uploads_total', { name: OTHER, kind: 'a' })).toBe(3);
    expect(value(s, 'uploads_total', { name: longest, kind: 'a' })).toBe(1);
    expect(value(s, MetricNames.labelOverflow, { metric: 'uploads_total', label: 'name' })).toBe(3);
  });

  it('take their length cap from the options', async () => {
    const t = telemetry({ maxLabelValueLength: 3 });
    const c = t.counter('hits', { labelNames: ['route'] });
    c.add(1, { route: '/ab' });
    c.add(1, { route: '/abc' });
    c.add(1, { route: 12345 });
    const s = parseExposition(await t.scrape());
    expect(value(s, 'hits_total', { route: '/ab' })).toBe(1);
    expect(value(s, 'hits_total', { route: OTHER })).toBe(2);
    for (const bad of [0, -5, 2.5, Number.NaN, 'x']) {
      expect(invalid(() => createTelemetry({ maxLabelValueLength: bad as number })).message).toMatch(
        /maxLabelValueLength/,
      );
    }
  });

  it('fold long values from adapter events without throwing into the adapter', async () => {
    const t = telemetry({ events: true });
    createPublisher(Channels.storageOperation).publish({
      driver: 'fs',
      bucket: 'b'.repeat(1_000_000),
      operation: 'put',
      outcome: 'ok',
      durationMs: 1,
      bytes: 10,
    });
    const text = await t.scrape();
    expect(text.length).toBeLessThan(100_000);
    const s = parseExposition(text);
    expect(
      value(s, `${MetricNames.storageOperationDuration}_count`, {
        storage_driver: 'fs',
        storage_bucket: OTHER,
        storage_operation: 'put',
        outcome: 'ok',
      }),
    ).toBe(1);
  });

  it('a real value never merges with folded ones, whatever it is', async () => {
    expect(OTHER).not.toBe('other');
    const t = telemetry({ maxLabelValues: 3 });
    const c = t.counter('orders', { labelNames: ['category'] });
    c.add(1, { category: 'other' }); // a real category called "other"
    c.add(10, { category: OTHER }); // a real value spelled like the marker
    c.add(100, { category: `_${OTHER}` });
    c.add(1000, { category: 'books' }); // past the limit of 3: folded
    c.add(1000, { category: 'games' }); // folded
    const s = parseExposition(await t.scrape());
    expect(value(s, 'orders_total', { category: 'other' })).toBe(1);
    expect(value(s, 'orders_total', { category: OTHER })).toBe(2000);
    // Real values of the marker's shape gain one leading "_", so they stay apart from it and
    // from each other.
    expect(value(s, 'orders_total', { category: `_${OTHER}` })).toBe(10);
    expect(value(s, 'orders_total', { category: `__${OTHER}` })).toBe(100);
    expect(find(s, 'orders_total')).toHaveLength(4);
  });
});
