import type { MetricLabels } from '@voelgoed/contracts';
import { describeMetrics, type MetricReading } from '@voelgoed/contracts/conformance';
import { createTelemetry, type Telemetry } from '../src/index.js';
import { escapeLabelValue } from '../src/label-guard.js';
import { parseExposition, value } from './exposition.js';

/** Reads a port instrument back from the scraped text, as Prometheus would see it. */
async function read(
  telemetry: Telemetry,
  name: string,
  labels: MetricLabels = {},
): Promise<MetricReading | undefined> {
  const promName = telemetry.metricName(name);
  if (promName === undefined) return undefined;
  // A real value of the folded marker's shape is exposed escaped (`__other__` → `___other__`).
  const wanted = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, escapeLabelValue(String(v))]));
  const samples = parseExposition(await telemetry.scrape());
  const count = value(samples, `${promName}_count`, wanted);
  if (count !== undefined) return { count, sum: value(samples, `${promName}_sum`, wanted) ?? Number.NaN };
  return value(samples, promName, wanted);
}

describeMetrics(
  'createTelemetry (prom-client)',
  () => {
    const metrics = createTelemetry({ events: false });
    return { metrics, read: (name, labels) => read(metrics, name, labels) };
  },
  { teardown: (h) => (h.metrics as Telemetry).close() },
);

describeMetrics(
  'createTelemetry with a prefix, events subscribed and a tight guard',
  () => {
    const metrics = createTelemetry({ prefix: 'conf_', maxLabelValues: 5 });
    return { metrics, read: (name, labels) => read(metrics, name, labels) };
  },
  { teardown: (h) => (h.metrics as Telemetry).close() },
);
