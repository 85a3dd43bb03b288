import { afterEach, describe, expect, it } from '@jest/globals';
import { Channels, createPublisher, isInfrastructureError } from '@voelgoed/contracts';
import {
  createTelemetry,
  DEFAULT_MAX_SERIES_PER_METRIC,
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

const VALUES = 100;
const ALL_OTHER = { region: OTHER, tenant: OTHER, plan: OTHER };

describe('series cap per metric', () => {
  it(`holds a metric with three labels of ${VALUES} values each at its cap (${DEFAULT_MAX_SERIES_PER_METRIC}) + 1 overflow series`, async () => {
    const t = telemetry();
    const c = t.counter('signups', { labelNames: ['region', 'tenant', 'plan'] });
    let adds = 0;
    for (let a = 0; a < VALUES; a++) {
      for (let b = 0; b < VALUES; b++) {
        for (let p = 0; p < VALUES; p++) {
          c.add(1, { region: `r${a}`, tenant: `t${b}`, plan: `p${p}` });
          adds++;
        }
      }
    }
    const text = await t.scrape();
    const s = parseExposition(text);
    const series = find(s, 'signups_total');
    expect(series).toHaveLength(DEFAULT_MAX_SERIES_PER_METRIC + 1);
    expect(value(s, 'signups_total', ALL_OTHER)).toBe(adds - DEFAULT_MAX_SERIES_PER_METRIC);
    // Nothing is lost: every add is in some series, and the overflow is counted.
    expect(series.reduce((sum, x) => sum + x.value, 0)).toBe(adds);
    expect(value(s, MetricNames.seriesOverflow, { metric: 'signups_total' })).toBe(
      adds - DEFAULT_MAX_SERIES_PER_METRIC,
    );
    // The per-label guard (100 values) never folded anything here: the series cap did.
    expect(find(s, MetricNames.labelOverflow)).toHaveLength(0);
    expect(text.length).toBeLessThan(256 * 1024);
  });

  it('keeps the series it admitted, sends new label sets to one overflow series, binds included', async () => {
    const t = telemetry({ maxSeriesPerMetric: 2 });
    const h = t.histogram('lat', { labelNames: ['route', 'code'], buckets: [1] });
    h.record(0.5, { route: '/a', code: 200 });
    const b = h.bind({ route: '/b', code: 200 });
    b.record(0.5);
    h.record(2, { route: '/c', code: 200 }); // past the cap
    const late = h.bind({ route: '/d', code: 500 }); // past the cap too
    late.record(0.5);
    late.record(0.5);
    h.record(0.5, { route: '/a', code: '200' }); // admitted before: still its own series
    b.record(0.5);
    const s = parseExposition(await t.scrape());
    expect(find(s, 'lat_count')).toHaveLength(3);
    expect(value(s, 'lat_count', { route: '/a', code: '200' })).toBe(2);
    expect(value(s, 'lat_count', { route: '/b', code: '200' })).toBe(2);
    const overflow = { route: OTHER, code: OTHER };
    expect(value(s, 'lat_count', overflow)).toBe(3);
    expect(value(s, 'lat_bucket', { ...overflow, le: '1' })).toBe(2);
    expect(value(s, 'lat_sum', overflow)).toBe(3);
    // One per label set resolved past the cap: a labelled call each time, a bind once.
    expect(value(s, MetricNames.seriesOverflow, { metric: 'lat' })).toBe(2);
  });

  it('counts the unlabelled series of a labelled instrument, and holds every kind of instrument', async () => {
    const t = telemetry({ maxSeriesPerMetric: 1 });
    const c = t.counter('jobs', { labelNames: ['queue'] });
    c.add(1, { queue: 'mail' });
    c.add(1); // a second label set: {} is past the cap of 1
    const u = t.upDownCounter('depth', { labelNames: ['queue'] });
    u.add(2, { queue: 'a' });
    u.add(3, { queue: 'b' });
    const g = t.gauge('temp', { labelNames: ['room'] });
    g.set(20, { room: 'a' });
    g.bind({ room: 'b' }).set(21);
    t.observableGauge(
      'sizes',
      (r) => {
        r.observe(1, { q: 'a' });
        r.observe(2, { q: 'b' });
      },
      { labelNames: ['q'] },
    );
    let s = parseExposition(await t.scrape());
    expect(value(s, 'jobs_total', { queue: 'mail' })).toBe(1);
    expect(value(s, 'jobs_total', { queue: OTHER })).toBe(1);
    expect(find(s, 'jobs_total')).toHaveLength(2);
    expect(value(s, 'depth', { queue: OTHER })).toBe(3);
    expect(value(s, 'temp', { room: OTHER })).toBe(21);
    expect(value(s, 'sizes', { q: 'a' })).toBe(1);
    expect(value(s, 'sizes', { q: OTHER })).toBe(2);
    for (const metric of ['jobs_total', 'depth', 'temp']) {
      expect(value(s, MetricNames.seriesOverflow, { metric })).toBe(1);
    }
    // prom-client may read the counter before the callbacks ran: they show by the next scrape.
    s = parseExposition(await t.scrape());
    expect(value(s, MetricNames.seriesOverflow, { metric: 'sizes' })).toBeGreaterThanOrEqual(1);
  });

  it('holds the metrics of adapter events too', async () => {
    const t = telemetry({ events: true, maxLabelValues: Number.POSITIVE_INFINITY, maxSeriesPerMetric: 20 });
    const publisher = createPublisher(Channels.httpRequest);
    let published = 0;
    for (let host = 0; host < 100; host++) {
      for (const status of [200, 404, 500, 503]) {
        publisher.publish({
          method: 'GET',
          origin: `https://tenant-${host}.example.com`,
          status,
          durationMs: 3,
          attempt: 1,
          outcome: status < 500 ? 'ok' : 'error',
          ...(status < 500 ? {} : { errorCode: 'HTTP_STATUS' }),
        });
        published++;
      }
    }
    const s = parseExposition(await t.scrape());
    const counts = find(s, `${MetricNames.httpRequestDuration}_count`);
    expect(counts).toHaveLength(21);
    expect(counts.reduce((sum, c) => sum + c.value, 0)).toBe(published);
    expect(value(s, MetricNames.seriesOverflow, { metric: MetricNames.httpRequestDuration })).toBe(
      published - 20,
    );
  });

  it('takes its cap from the options: Infinity turns it off, a bad one is INVALID_ARGUMENT', async () => {
    const t = telemetry({ maxSeriesPerMetric: Number.POSITIVE_INFINITY });
    const c = t.counter('hits', { labelNames: ['a', 'b'] });
    for (let a = 0; a < 60; a++) for (let b = 0; b < 60; b++) c.add(1, { a, b });
    const s = parseExposition(await t.scrape());
    expect(find(s, 'hits_total')).toHaveLength(3600);
    expect(find(s, MetricNames.seriesOverflow)).toHaveLength(0);
    for (const bad of [0, -1, 1.5, Number.NaN, '10']) {
      let caught: unknown;
      try {
        createTelemetry({ maxSeriesPerMetric: bad as number });
      } catch (error) {
        caught = error;
      }
      expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toMatch(/maxSeriesPerMetric/);
    }
  });
});
