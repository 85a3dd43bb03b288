import { afterEach, describe, expect, it } from '@jest/globals';
import { Channels, createPublisher } from '@voelgoed/contracts';
import { createTelemetry, MetricNames, OTHER, type Telemetry } from '../src/index.js';
import { find, parseExposition, value } from './exposition.js';

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const ROUTES = 10_000;
const LIMIT = 50;

describe('cardinality guard', () => {
  it(`holds a histogram at ${LIMIT} + 1 series under ${ROUTES} distinct route values`, async () => {
    const t = createTelemetry({ events: false, maxLabelValues: LIMIT });
    open.push(t);
    const h = t.histogram('http.server.request.duration', { unit: 's', labelNames: ['route', 'method'] });
    for (let i = 0; i < ROUTES; i++) {
      const labels = { route: `/users/${i}`, method: 'GET' };
      if (i % 2) h.record(0.01, labels);
      else h.bind(labels).record(0.01);
    }
    const s = parseExposition(await t.scrape());
    const counts = find(s, 'http_server_request_duration_seconds_count');
    expect(counts).toHaveLength(LIMIT + 1);
    expect(value(s, 'http_server_request_duration_seconds_count', { route: OTHER, method: 'GET' })).toBe(
      ROUTES - LIMIT,
    );
    // Nothing is lost: every record is in some series.
    expect(counts.reduce((sum, c) => sum + c.value, 0)).toBe(ROUTES);
    expect(
      value(s, 'voelgoed_telemetry_label_overflow_total', {
        metric: 'http_server_request_duration_seconds',
        label: 'route',
      }),
    ).toBe(ROUTES - LIMIT);
  });

  it('keeps values it admitted before the limit was reached', async () => {
    const t = createTelemetry({ events: false, maxLabelValues: 2 });
    open.push(t);
    const c = t.counter('hits', { labelNames: ['route'] });
    c.add(1, { route: '/a' });
    c.add(1, { route: '/b' });
    c.add(1, { route: '/c' });
    c.add(1, { route: '/a' });
    const s = parseExposition(await t.scrape());
    expect(value(s, 'hits_total', { route: '/a' })).toBe(2);
    expect(value(s, 'hits_total', { route: '/b' })).toBe(1);
    expect(value(s, 'hits_total', { route: OTHER })).toBe(1);
  });

  it(`folds ${ROUTES} distinct HTTP origins from adapter events the same way`, async () => {
    const t = createTelemetry({ maxLabelValues: LIMIT });
    open.push(t);
    const publisher = createPublisher(Channels.httpRequest);
    for (let i = 0; i < ROUTES; i++) {
      publisher.publish({
        method: 'GET',
        origin: `https://tenant-${i}.example.com`,
        status: 200,
        durationMs: 3,
        attempt: 1,
        outcome: 'ok',
      });
    }
    const s = parseExposition(await t.scrape());
    const counts = find(s, `${MetricNames.httpRequestDuration}_count`);
    expect(counts).toHaveLength(LIMIT + 1);
    expect(counts.reduce((sum, c) => sum + c.value, 0)).toBe(ROUTES);
    expect(find(s, `${MetricNames.httpRequestDuration}_count`, { server_address: OTHER })[0]?.value).toBe(
      ROUTES - LIMIT,
    );
    expect(
      value(s, 'voelgoed_telemetry_label_overflow_total', {
        metric: MetricNames.httpRequestDuration,
        label: 'server_address',
      }),
    ).toBe(ROUTES - LIMIT);
  });
});
