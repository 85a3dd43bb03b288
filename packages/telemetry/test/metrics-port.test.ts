import { channel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { createTelemetry, type Telemetry } from '../src/index.js';
import { parseExposition, types, value } from './exposition.js';

const open: Telemetry[] = [];
function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ events: false, ...options });
  open.push(t);
  return t;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function expectInvalid(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
  expect((caught as Error).message).toMatch(/^\[voelgoed:telemetry\] /);
}

describe('Metrics port on prom-client', () => {
  it('maps OpenTelemetry names and units to Prometheus names; counters end in _total', async () => {
    const t = telemetry();
    t.histogram('http.server.request.duration', { unit: 's', labelNames: ['route'] }).record(0.2, {
      route: '/a',
    });
    t.counter('shop.orders', { labelNames: ['status'] }).add(2, { status: 'paid' });
    t.upDownCounter('queue.items', { unit: '{item}' }).add(3);
    t.gauge('pool.utilization', { unit: '1' }).set(0.5);
    t.histogram('payload.size', { unit: 'By', buckets: [100, 1000] }).record(500);
    const text = await t.scrape();
    const kinds = types(text);
    expect(kinds.get('http_server_request_duration_seconds')).toBe('histogram');
    expect(kinds.get('shop_orders_total')).toBe('counter');
    expect(kinds.get('queue_items')).toBe('gauge');
    expect(kinds.get('pool_utilization')).toBe('gauge');
    expect(kinds.get('payload_size_bytes')).toBe('histogram');
    const s = parseExposition(text);
    expect(value(s, 'shop_orders_total', { status: 'paid' })).toBe(2);
    expect(value(s, 'queue_items')).toBe(3);
    expect(value(s, 'pool_utilization')).toBe(0.5);
    expect(value(s, 'http_server_request_duration_seconds_count', { route: '/a' })).toBe(1);
    expect(value(s, 'payload_size_bytes_bucket', { le: '100' })).toBe(0);
    expect(value(s, 'payload_size_bytes_bucket', { le: '1000' })).toBe(1);
    expect(value(s, 'payload_size_bytes_bucket', { le: '+Inf' })).toBe(1);
  });

  it('applies the prefix to every name, including its own guard counter', async () => {
    const t = telemetry({ prefix: 'app_' });
    t.counter('jobs').add();
    const kinds = types(await t.scrape());
    expect(kinds.get('app_jobs_total')).toBe('counter');
    expect(kinds.get('app_voelgoed_telemetry_label_overflow_total')).toBe('counter');
  });

  it('counts, sums and buckets histogram records like prom-client', async () => {
    const t = telemetry({ buckets: [0.1, 1] });
    const h = t.histogram('work.duration', { unit: 's', labelNames: ['kind'] });
    for (const v of [0.05, 0.1, 0.5, 2]) h.record(v, { kind: 'a' });
    const s = parseExposition(await t.scrape());
    const l = { kind: 'a' };
    expect(value(s, 'work_duration_seconds_bucket', { ...l, le: '0.1' })).toBe(2);
    expect(value(s, 'work_duration_seconds_bucket', { ...l, le: '1' })).toBe(3);
    expect(value(s, 'work_duration_seconds_bucket', { ...l, le: '+Inf' })).toBe(4);
    expect(value(s, 'work_duration_seconds_count', l)).toBe(4);
    expect(value(s, 'work_duration_seconds_sum', l)).toBeCloseTo(2.65);
  });

  it('gives the same instrument for the same name and kind, and rejects another kind', () => {
    const t = telemetry();
    const a = t.counter('hits', { labelNames: ['x'] });
    expect(t.counter('hits')).toBe(a);
    expectInvalid(() => t.histogram('hits'));
    expectInvalid(() => t.gauge('hits'));
    expectInvalid(() => t.observableGauge('hits', () => {}));
  });

  it('rejects bad names, label names, values, labels and buckets with INVALID_ARGUMENT', () => {
    const t = telemetry();
    expectInvalid(() => t.counter(''));
    expectInvalid(() => t.counter('9lives'));
    expectInvalid(() => t.counter('has space'));
    expectInvalid(() => t.counter('x.y', { labelNames: ['bad-label'] }));
    expectInvalid(() => t.counter('x.z', { labelNames: ['a', 'a'] }));
    expectInvalid(() => t.histogram('h.le', { labelNames: ['le'] }));
    expectInvalid(() => t.histogram('h.b', { buckets: [1, 1] }));
    expectInvalid(() => t.histogram('h.c', { buckets: [1, Number.NaN] }));
    const c = t.counter('c', { labelNames: ['a'] });
    expectInvalid(() => c.add(-1));
    expectInvalid(() => c.add(Number.POSITIVE_INFINITY));
    expectInvalid(() => c.add(1, { b: 'x' }));
    expectInvalid(() => c.bind({ b: 'x' }));
    expectInvalid(() => c.bind({ a: 'x' }).add(-2));
    expectInvalid(() => c.add(1, { a: {} as unknown as string }));
    const h = t.histogram('h', { labelNames: ['a'] });
    expectInvalid(() => h.record(Number.NaN));
    expectInvalid(() => h.bind({ a: '1' }).record(Number.NaN));
    const g = t.gauge('g');
    expectInvalid(() => g.set(Number.NEGATIVE_INFINITY));
    expectInvalid(() => t.upDownCounter('u').add(Number.NaN));
  });

  it('lets an up-down counter go below zero and a gauge be set to any finite value', async () => {
    const t = telemetry();
    const u = t.upDownCounter('in.flight', { labelNames: ['pool'] });
    u.add(2, { pool: 'a' });
    u.add(-5, { pool: 'a' });
    u.bind({ pool: 'b' }).add(-1);
    const g = t.gauge('temperature', { unit: 'Cel' });
    g.set(20);
    g.set(-3.5);
    const s = parseExposition(await t.scrape());
    expect(value(s, 'in_flight', { pool: 'a' })).toBe(-3);
    expect(value(s, 'in_flight', { pool: 'b' })).toBe(-1);
    expect(value(s, 'temperature_celsius')).toBe(-3.5);
  });

  it('treats number and boolean label values as text and leaves empty ones out', async () => {
    const t = telemetry();
    const c = t.counter('responses', { labelNames: ['status', 'cached', 'route'] });
    c.add(1, { status: 200, cached: true, route: '' });
    c.bind({ status: '200', cached: 'true' }).add(1);
    const s = parseExposition(await t.scrape());
    expect(value(s, 'responses_total', { status: '200', cached: 'true' })).toBe(2);
  });

  it('asks observable gauges at scrape time; their observations replace the previous ones', async () => {
    const t = telemetry();
    let depth = 3;
    t.observableGauge('queue.depth', (r) => r.observe(depth, { queue: 'mail' }), { labelNames: ['queue'] });
    t.observableGauge('queue.depth', async (r) => r.observe(depth * 10, { queue: 'sms' }));
    let s = parseExposition(await t.scrape());
    expect(value(s, 'queue_depth', { queue: 'mail' })).toBe(3);
    expect(value(s, 'queue_depth', { queue: 'sms' })).toBe(30);
    depth = 4;
    s = parseExposition(await t.scrape());
    expect(value(s, 'queue_depth', { queue: 'mail' })).toBe(4);
    expect(value(s, 'queue_depth', { queue: 'sms' })).toBe(40);
  });

  it('counts a failing observable callback and still answers the scrape', async () => {
    const t = telemetry();
    t.observableGauge('broken', () => {
      throw new Error('boom');
    });
    t.observableGauge('bad.value', (r) => r.observe(Number.NaN));
    t.gauge('fine').set(1);
    expect(value(parseExposition(await t.scrape()), 'fine')).toBe(1);
    // prom-client serialises its metrics concurrently, so the errors counter may be read before
    // or after this scrape's callbacks fail: the first scrape's failure shows by the second.
    const s = parseExposition(await t.scrape());
    expect(value(s, 'voelgoed_telemetry_errors_total', { source: 'broken' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'voelgoed_telemetry_errors_total', { source: 'bad_value' })).toBeGreaterThanOrEqual(1);
  });

  it('rejects a name that is already on the registry (two telemetries on one registry)', () => {
    const registry = new Registry();
    telemetry({ registry, events: true });
    expect(() => createTelemetry({ registry })).toThrow(/already registered/);
    const t = telemetry({ registry: new Registry() });
    t.counter('a.b');
    expectInvalid(() => t.counter('a_b')); // both are a_b_total in Prometheus
  });

  it('a create that fails on a name clash leaves nothing behind: no metric, no subscription; it works once the clash is gone', async () => {
    const registry = new Registry();
    // The application's own metric under a name the HTTP events use.
    const name = 'http_client_request_duration_seconds';
    new Histogram({ name, help: 'the app owns it', registers: [registry] });
    const redisChannel = channel('voelgoed:redis:command');
    const subscribedBefore = redisChannel.hasSubscribers;
    expect(() => createTelemetry({ registry, defaultMetrics: true })).toThrow(/already registered/);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual([name]);
    expect(redisChannel.hasSubscribers).toBe(subscribedBefore);
    registry.removeSingleMetric(name);
    const t = telemetry({ registry, events: true });
    expect(registry.getSingleMetric(name)).toBeDefined();
    expect(redisChannel.hasSubscribers).toBe(true);
    await t.close();
  });

  it('rejects bad options', () => {
    expectInvalid(() => createTelemetry({ prefix: '1x' }));
    expectInvalid(() => createTelemetry({ buckets: [] }));
    expectInvalid(() => createTelemetry({ buckets: [2, 1] }));
    expectInvalid(() => createTelemetry({ maxLabelValues: 0 }));
    expectInvalid(() => createTelemetry({ maxLabelValues: 1.5 }));
    // A field the options do not have (a typo, prom-client's name) is refused, not dropped.
    expectInvalid(() => createTelemetry({ maxLabelValue: 10 } as never));
    expectInvalid(() => createTelemetry({ labels: { app: 'x' } } as never));
  });

  it('registers prom-client default process metrics only when asked, with the prefix', async () => {
    const without = telemetry();
    expect(types(await without.scrape()).has('process_cpu_user_seconds_total')).toBe(false);
    const withDefaults = telemetry({ defaultMetrics: true, prefix: 'svc_' });
    const kinds = types(await withDefaults.scrape());
    expect(kinds.get('svc_process_cpu_user_seconds_total')).toBe('counter');
    expect(kinds.get('svc_nodejs_heap_size_used_bytes')).toBe('gauge');
  });

  it('checks the defaultMetrics options before registering anything: typos, bad labels, buckets and precision are INVALID_ARGUMENT', () => {
    const registry = new Registry();
    const bad: unknown[] = [
      'yes',
      1,
      null,
      [],
      { timeout: 5 }, // prom-client has no such option: a typo would be dropped
      { prefix: 'x_' }, // the telemetry's own prefix applies
      { labels: { 'bad-label': 'x' } },
      { labels: { __reserved: 'x' } },
      { labels: { le: 'x' } },
      { labels: { space: 'x' } }, // the heap metrics' own label: their series would merge
      { labels: { version: 'x' } }, // nodejs_version_info's own label
      { labels: { app: 5 } },
      { labels: 'app=x' },
      { gcDurationBuckets: [] },
      { gcDurationBuckets: ['x'] },
      { gcDurationBuckets: [1, 0.5] },
      { eventLoopMonitoringPrecision: 0 },
      { eventLoopMonitoringPrecision: -1 },
      { eventLoopMonitoringPrecision: 1.5 },
      { eventLoopMonitoringPrecision: Number.NaN },
    ];
    for (const defaultMetrics of bad) {
      expectInvalid(() =>
        createTelemetry({ registry, events: false, defaultMetrics: defaultMetrics as never }),
      );
      expect(registry.getMetricsAsArray()).toEqual([]);
    }
  });

  it('default metrics the registry already has (prom-client registered them, or another telemetry) are INVALID_ARGUMENT, and nothing of this telemetry stays', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const names = registry.getMetricsAsArray().map((m) => m.name);
    expectInvalid(() => createTelemetry({ registry, events: false, defaultMetrics: true }));
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(names);
    // With a prefix they do not clash.
    const prefixed = telemetry({ registry, defaultMetrics: { labels: { app: 'shop' } }, prefix: 'shop_' });
    expect(prefixed.registry.getSingleMetric('shop_process_cpu_user_seconds_total')).toBeDefined();
  });

  it('close() removes its metrics (defaults too) from a shared registry so it can be reused', async () => {
    const registry = new Registry();
    const first = createTelemetry({ registry, defaultMetrics: true });
    first.counter('jobs').add();
    await first.close();
    await first.close();
    expect(await registry.metrics()).toBe('\n');
    const second = telemetry({ registry, defaultMetrics: true });
    second.counter('jobs').add(2);
    expect(value(parseExposition(await second.scrape()), 'jobs_total')).toBe(2);
  });
});
