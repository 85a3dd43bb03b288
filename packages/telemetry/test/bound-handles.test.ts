import { afterEach, describe, expect, it } from '@jest/globals';
import { Histogram, Registry } from 'prom-client';
import { createTelemetry, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// Bound handles write prom-client's series entries directly (see src/prom-internals.ts). These
// tests pin that to prom-client's own behaviour: if its internals change, they fail.

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(registry = new Registry()): Telemetry {
  const t = createTelemetry({ registry, events: false, buckets: [0.01, 0.1, 1] });
  open.push(t);
  return t;
}

const VALUES = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 3, 0];

describe('bound handles', () => {
  it('produce exactly the exposition of prom-client observe() with the same labels', async () => {
    const registry = new Registry();
    const t = telemetry(registry);
    const ours = t.histogram('ours', { labelNames: ['route', 'code'] }).bind({ route: '/a', code: 200 });
    const reference = new Histogram({
      name: 'reference',
      help: 'reference',
      labelNames: ['route', 'code'],
      buckets: [0.01, 0.1, 1],
      registers: [registry],
    });
    for (const v of VALUES) {
      ours.record(v);
      reference.observe({ route: '/a', code: '200' }, v);
    }
    const text = await registry.metrics();
    const pick = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name))
        .map((l) => l.slice(name.length))
        .join('\n');
    expect(pick('ours')).not.toBe('');
    expect(pick('ours')).toBe(pick('reference'));
  });

  it('add to the same series as labelled calls, in any order', async () => {
    const t = telemetry();
    const c = t.counter('hits', { labelNames: ['a', 'b'] });
    const bound = c.bind({ b: 'y', a: 'x' }); // label order does not matter
    c.add(1, { a: 'x', b: 'y' });
    bound.add(2);
    c.add(3, { b: 'y', a: 'x' });
    const h = t.histogram('lat', { labelNames: ['a'] });
    h.record(0.5, { a: 'x' });
    h.bind({ a: 'x' }).record(0.05);
    const g = t.gauge('level', { labelNames: ['a'] });
    g.bind({ a: 'x' }).set(4);
    g.set(7, { a: 'x' });
    const u = t.upDownCounter('depth', { labelNames: ['a'] });
    u.bind({ a: 'x' }).add(5);
    u.add(-2, { a: 'x' });
    const s = parseExposition(await t.scrape());
    expect(value(s, 'hits_total', { a: 'x', b: 'y' })).toBe(6);
    expect(value(s, 'lat_count', { a: 'x' })).toBe(2);
    expect(value(s, 'lat_bucket', { a: 'x', le: '0.1' })).toBe(1);
    expect(value(s, 'level', { a: 'x' })).toBe(7);
    expect(value(s, 'depth', { a: 'x' })).toBe(3);
  });

  it('keep recording after registry.resetMetrics() drops every series', async () => {
    const registry = new Registry();
    const t = telemetry(registry);
    const h = t.histogram('lat', { labelNames: ['a'] }).bind({ a: 'x' });
    const c = t.counter('hits').bind({});
    const g = t.gauge('level', { labelNames: ['a'] }).bind({ a: 'x' });
    h.record(0.5);
    c.add(5);
    g.set(3);
    registry.resetMetrics();
    h.record(0.05);
    c.add(1);
    g.set(2);
    const s = parseExposition(await t.scrape());
    expect(value(s, 'lat_count', { a: 'x' })).toBe(1);
    expect(value(s, 'lat_sum', { a: 'x' })).toBe(0.05);
    expect(value(s, 'hits_total')).toBe(1);
    expect(value(s, 'level', { a: 'x' })).toBe(2);
  });

  it('count a value above the last bucket only in +Inf, count and sum', async () => {
    const t = telemetry();
    t.histogram('big').bind({}).record(50);
    const s = parseExposition(await t.scrape());
    expect(value(s, 'big_bucket', { le: '1' })).toBe(0);
    expect(value(s, 'big_bucket', { le: '+Inf' })).toBe(1);
    expect(value(s, 'big_sum')).toBe(50);
  });
});
