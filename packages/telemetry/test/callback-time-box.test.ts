import { afterEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createTelemetry, MetricNames, type Telemetry } from '../src/index.js';
import { parseExposition, value } from './exposition.js';

// Time boxes are kept small (50 ms) so the tests are quick; they assert only that a scrape
// completes and what it shows, never how long it took.

const open: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});
function telemetry(options: Parameters<typeof createTelemetry>[0] = {}): Telemetry {
  const t = createTelemetry({ events: false, callbackTimeoutMs: 50, ...options });
  open.push(t);
  return t;
}
const never = () => new Promise<void>(() => {});

describe('observable callbacks are time-boxed', () => {
  it('a callback that never settles does not hang scrape(); the others still report; it is counted', async () => {
    const t = telemetry();
    t.observableGauge('stuck', never);
    t.observableGauge('depth', (r) => r.observe(7, { queue: 'mail' }), { labelNames: ['queue'] });
    t.observableGauge('depth', never); // a second callback of the same instrument
    t.observableGauge('broken', async () => {
      throw new Error('boom');
    });
    t.gauge('plain').set(1);
    let s = parseExposition(await t.scrape());
    expect(value(s, 'depth', { queue: 'mail' })).toBe(7);
    expect(value(s, 'plain')).toBe(1);
    // prom-client may read the counter before this scrape's time box ran out: the next shows it.
    s = parseExposition(await t.scrape());
    expect(value(s, MetricNames.callbackTimeouts, { metric: 'stuck' })).toBeGreaterThanOrEqual(1);
    expect(value(s, MetricNames.callbackTimeouts, { metric: 'depth' })).toBeGreaterThanOrEqual(1);
    expect(value(s, 'depth', { queue: 'mail' })).toBe(7);
    // A callback that throws is an error, not a timeout.
    expect(value(s, MetricNames.errors, { source: 'broken' })).toBeGreaterThanOrEqual(1);
    expect(value(s, MetricNames.callbackTimeouts, { metric: 'broken' })).toBeUndefined();
  });

  it('does not call a callback again while its earlier call is still running', async () => {
    const t = telemetry();
    let calls = 0;
    t.observableGauge('slow', () => {
      calls++;
      return never();
    });
    for (let i = 0; i < 3; i++) await t.scrape();
    expect(calls).toBe(1);
    const s = parseExposition(await t.scrape());
    // Every scrape it missed counts: the first by its time box, the later ones at once.
    expect(value(s, MetricNames.callbackTimeouts, { metric: 'slow' })).toBeGreaterThanOrEqual(3);
  });

  it('drops what a timed-out callback observes once its collection has ended', async () => {
    const t = telemetry();
    let release: (() => void) | undefined;
    t.observableGauge(
      'late',
      async (r) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        r.observe(99, { q: 'stale' });
      },
      { labelNames: ['q'] },
    );
    // The second callback releases the first one in the middle of the next collection, after
    // the gauge was cleared: the stale observation must not land in it.
    let scrapes = 0;
    t.observableGauge('late', (r) => {
      scrapes++;
      if (scrapes === 2) release!();
      r.observe(5, { q: 'fresh' });
    });
    let s = parseExposition(await t.scrape());
    expect(value(s, 'late', { q: 'fresh' })).toBe(5);
    s = parseExposition(await t.scrape());
    expect(value(s, 'late', { q: 'fresh' })).toBe(5);
    expect(value(s, 'late', { q: 'stale' })).toBeUndefined();
    expect(scrapes).toBe(2);
  });

  it('rejects a bad callbackTimeoutMs with INVALID_ARGUMENT naming the option', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '50']) {
      let caught: unknown;
      try {
        createTelemetry({ callbackTimeoutMs: bad as number });
      } catch (error) {
        caught = error;
      }
      expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toMatch(/callbackTimeoutMs/);
    }
  });

  it('rejects a bad scrapeTimeoutMs, or one not above callbackTimeoutMs, with INVALID_ARGUMENT', () => {
    for (const options of [
      { scrapeTimeoutMs: 0 },
      { scrapeTimeoutMs: Number.NaN },
      { scrapeTimeoutMs: 2 ** 31 },
      { scrapeTimeoutMs: 100, callbackTimeoutMs: 100 },
      { scrapeTimeoutMs: 100 }, // the default callback time box is 1000
    ]) {
      let caught: unknown;
      try {
        createTelemetry(options);
      } catch (error) {
        caught = error;
      }
      expect(isInfrastructureError(caught, 'INVALID_ARGUMENT')).toBe(true);
      expect((caught as Error).message).toMatch(/scrapeTimeoutMs/);
    }
  });
});

describe('a collector registered by others', () => {
  it('that never settles makes scrape() reject with TIMEOUT past scrapeTimeoutMs, not hang', async () => {
    const t = telemetry({ scrapeTimeoutMs: 100 });
    t.registry.registerMetric({
      name: 'foreign',
      get: () => new Promise(() => {}),
    } as unknown as Parameters<typeof t.registry.registerMetric>[0]);
    let caught: unknown;
    try {
      await t.scrape();
    } catch (error) {
      caught = error;
    }
    expect(isInfrastructureError(caught, 'TIMEOUT')).toBe(true);
    expect((caught as Error).message).toMatch(/^\[voelgoed:telemetry\] collecting metrics took longer/);
    t.registry.removeSingleMetric('foreign');
    expect(await t.scrape()).toContain('voelgoed_telemetry_errors_total');
  });
});
