import type { HealthReport, Resource } from '../ports/health.js';
import { expect } from './assert.js';
import type { ConformanceCheck } from './shared.js';

const STATUSES = ['up', 'degraded', 'down'];

/** Asserts the shape every health report has (and that it survives JSON), resolves with it. */
async function wellFormedReport(resource: Resource): Promise<HealthReport> {
  const report = await resource.health();
  expect(typeof report).toBe('object');
  expect(STATUSES.includes(report.status)).toBe(true);
  expect(typeof report.resource).toBe('string');
  expect(report.resource.length > 0).toBe(true);
  if (report.latencyMs !== undefined) expect(Number.isFinite(report.latencyMs)).toBe(true);
  expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  return report;
}

/**
 * The `health()`/`close()` checks every suite runs: `resourceOf` picks the {@link Resource} out
 * of the suite's implementation (the implementation itself for most suites).
 */
export function lifecycleChecks<T>(
  resourceOf: (impl: T) => Resource | Promise<Resource>,
): ConformanceCheck<T>[] {
  return [
    {
      name: 'health() of a fresh instance reports up, as a JSON-serialisable report',
      timeoutMs: 10_000,
      async run(impl) {
        const report = await wellFormedReport(await resourceOf(impl));
        expect(report.status).toBe('up');
        expect(report.error).toBeUndefined();
      },
    },
    {
      name: 'close() resolves and is idempotent (again, and twice at once)',
      timeoutMs: 20_000,
      async run(impl) {
        const resource = await resourceOf(impl);
        expect(await resource.close()).toBeUndefined();
        expect(await resource.close()).toBeUndefined();
        await Promise.all([resource.close(), resource.close()]);
      },
    },
    {
      name: 'health() after close() reports down with an error, and does not throw',
      timeoutMs: 20_000,
      async run(impl) {
        const resource = await resourceOf(impl);
        await resource.close();
        const report = await wellFormedReport(resource);
        expect(report.status).toBe('down');
        expect(typeof report.error?.code).toBe('string');
        expect(typeof report.error?.message).toBe('string');
      },
    },
  ];
}
