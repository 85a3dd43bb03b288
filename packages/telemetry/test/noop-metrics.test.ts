import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { findCheck, metricsChecks } from '@voelgoed/contracts/conformance';
import { createNoopMetrics } from '../src/index.js';

function expectInvalid(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
}

describe('NoopMetrics', () => {
  it('accepts every valid call and records nothing (observable callbacks are never called)', () => {
    const metrics = createNoopMetrics();
    let called = false;
    metrics.counter('a', { labelNames: ['x'] }).add(1, { x: 'y' });
    metrics.counter('a').bind({ x: 'z' }).add();
    metrics.upDownCounter('b').add(-1);
    metrics
      .histogram('c', { buckets: [1, 2] })
      .bind({})
      .record(3);
    metrics.gauge('d').set(4);
    metrics.observableGauge('e', () => {
      called = true;
    });
    expect(called).toBe(false);
  });

  it('rejects what the port says is invalid, so swapping it in changes no behaviour', async () => {
    const metrics = createNoopMetrics();
    expect(metrics.counter('same')).toBe(metrics.counter('same'));
    expectInvalid(() => metrics.histogram('same'));
    expectInvalid(() => metrics.counter('a-b'));
    expectInvalid(() => metrics.counter('c').add(-1));
    expectInvalid(() => metrics.counter('c').bind({}).add(Number.NaN));
    expectInvalid(() => metrics.counter('c').add(1, { undeclared: 'x' }));
    expectInvalid(() => metrics.histogram('h', { labelNames: ['x'] }).bind({ y: '1' }));
    expectInvalid(() => metrics.gauge('g').set(Number.POSITIVE_INFINITY));
    expectInvalid(() => metrics.histogram('bad.buckets', { buckets: [2, 1] }));
    // The conformance checks that need no read-back pass too.
    const harness = {
      metrics,
      read: () => Promise.reject(new Error('NoopMetrics records nothing')),
    };
    await findCheck(metricsChecks, 'bad names throw INVALID_ARGUMENT for every kind of instrument').run(
      harness,
    );
  });
});
