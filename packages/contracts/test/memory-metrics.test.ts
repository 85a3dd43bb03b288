import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from '../src/index.js';
import { MemoryMetrics } from '../src/memory.js';

describe('MemoryMetrics read-back', () => {
  it('value(), histogramSnapshot() and series() show what was recorded', () => {
    const metrics = new MemoryMetrics();
    metrics.counter('orders', { labelNames: ['status'] }).add(2, { status: 'paid' });
    metrics.histogram('latency', { unit: 's' }).record(0.25);
    metrics.histogram('latency').record(0.75);
    expect(metrics.value('orders', { status: 'paid' })).toBe(2);
    expect(metrics.value('orders', { status: 'open' })).toBeUndefined();
    expect(metrics.value('missing')).toBeUndefined();
    expect(metrics.histogramSnapshot('latency')).toEqual({ count: 2, sum: 1, values: [0.25, 0.75] });
    expect(metrics.series()).toEqual([
      { name: 'orders', kind: 'counter', labels: { status: 'paid' }, value: 2 },
      {
        name: 'latency',
        kind: 'histogram',
        labels: {},
        histogram: { count: 2, sum: 1, values: [0.25, 0.75] },
      },
    ]);
    expect(metrics.kindOf('latency')).toBe('histogram');
  });

  it('reading with the wrong accessor or an undeclared label throws INVALID_ARGUMENT', () => {
    const metrics = new MemoryMetrics();
    metrics.histogram('h').record(1);
    metrics.gauge('g', { labelNames: ['a'] }).set(1, { a: 'x' });
    expect(() => metrics.value('h')).toThrow(InvalidArgumentError);
    expect(() => metrics.histogramSnapshot('g')).toThrow(InvalidArgumentError);
    expect(() => metrics.value('g', { b: 'x' })).toThrow(InvalidArgumentError);
  });

  it('an empty label value is the same series as no value', () => {
    const metrics = new MemoryMetrics();
    const counter = metrics.counter('c', { labelNames: ['a', 'b'] });
    counter.add(1, { a: 'x' });
    counter.add(1, { a: 'x', b: '' });
    expect(metrics.value('c', { a: 'x' })).toBe(2);
  });

  it('reset() forgets values but keeps instruments, bound handles and callbacks', async () => {
    const metrics = new MemoryMetrics();
    const bound = metrics.counter('c', { labelNames: ['a'] }).bind({ a: '1' });
    bound.add(5);
    metrics.observableGauge('o', (r) => r.observe(7));
    await metrics.collect();
    metrics.reset();
    expect(metrics.value('c', { a: '1' })).toBeUndefined();
    expect(metrics.value('o')).toBeUndefined();
    bound.add(1);
    await metrics.collect();
    expect(metrics.value('c', { a: '1' })).toBe(1);
    expect(metrics.value('o')).toBe(7);
  });

  it('collect() replaces earlier observations and surfaces callback errors', async () => {
    const metrics = new MemoryMetrics();
    let labels: Record<string, string> = { q: 'a' };
    metrics.observableGauge('depth', (r) => r.observe(1, labels), { labelNames: ['q'] });
    await metrics.collect();
    labels = { q: 'b' };
    await metrics.collect();
    expect(metrics.value('depth', { q: 'a' })).toBeUndefined();
    expect(metrics.value('depth', { q: 'b' })).toBe(1);
    metrics.observableGauge('bad', (r) => r.observe(Number.NaN));
    await expect(metrics.collect()).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('rejects bad declarations with INVALID_ARGUMENT', () => {
    const metrics = new MemoryMetrics();
    expect(() => metrics.counter('a', { labelNames: ['x', 'x'] })).toThrow(InvalidArgumentError);
    expect(() => metrics.counter('b', { labelNames: ['x.y'] })).toThrow(InvalidArgumentError);
    expect(() => metrics.histogram('c', { buckets: [1, 1] })).toThrow(InvalidArgumentError);
    expect(() => metrics.histogram('d', { buckets: [1, Number.POSITIVE_INFINITY] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => metrics.observableGauge('e', 'no' as never)).toThrow(InvalidArgumentError);
    expect(() => metrics.counter('f').add(1, { x: { y: 1 } } as never)).toThrow(InvalidArgumentError);
  });
});
