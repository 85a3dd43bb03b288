import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { metricsBadInputCheck } from '@voelgoed/contracts/conformance';
import { createNoopMetrics, createTelemetry } from '../src/index.js';

// What the contracts' Metrics bad-input check found: a 1 MiB description repeated in every
// scrape, sparse arrays that blocked the event loop, and Proxies whose traps threw their own errors.
function invalid(fn: () => unknown): boolean {
  try {
    fn();
  } catch (error) {
    return isInfrastructureError(error, 'INVALID_ARGUMENT');
  }
  return false;
}

describe.each([
  ['createTelemetry', () => createTelemetry({ events: false })],
  ['createNoopMetrics', () => createNoopMetrics()],
])('%s refuses junk declarations and labels with INVALID_ARGUMENT', (_name, make) => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwing = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );

  it('long or non-string descriptions and units, sparse or unreadable label names and buckets', () => {
    const metrics = make();
    const cases: [string, () => unknown][] = [
      ['1 MiB description', () => metrics.counter('a1', { description: 'x'.repeat(1024 * 1024) })],
      ['description 5', () => metrics.counter('a2', { description: 5 as never })],
      ['65-character unit', () => metrics.gauge('a3', { unit: 'u'.repeat(65) })],
      ['unit with CR LF', () => metrics.gauge('a4', { unit: 's\r\n' })],
      ['revoked Proxy options', () => metrics.counter('a5', proxy as never)],
      ['throwing options', () => metrics.histogram('a6', throwing as never)],
      ['sparse labelNames', () => metrics.counter('a7', { labelNames: new Array(2 ** 32 - 1) })],
      ['sparse buckets', () => metrics.histogram('a8', { buckets: new Array(2 ** 32 - 1) })],
      ['empty buckets', () => metrics.histogram('a9', { buckets: [] })],
      ['throwing labels', () => metrics.counter('b1', { labelNames: ['k'] }).add(1, throwing as never)],
      ['revoked labels', () => metrics.gauge('b2', { labelNames: ['k'] }).bind(proxy as never)],
    ];
    for (const [why, call] of cases) expect([why, invalid(call)]).toEqual([why, true]);
    expect(invalid(() => metrics.counter('ok', { description: 'd'.repeat(1024), unit: '{request}' }))).toBe(
      false,
    );
  });

  it('passes the Metrics bad-input check', async () => {
    const metrics = make();
    const read = async () => undefined;
    await metricsBadInputCheck({ runs: 200 }).run({ metrics, read });
    if ('close' in metrics) await (metrics as { close(): Promise<void> }).close();
  });
});
