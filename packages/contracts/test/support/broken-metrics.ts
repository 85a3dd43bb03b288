import type { MetricsHarness } from '../../src/conformance.js';
import { memoryMetricsHarness } from '../../src/conformance.js';
import { isInfrastructureError } from '../../src/errors.js';
import { MemoryMetrics } from '../../src/memory.js';
import type {
  Counter,
  Gauge,
  Histogram,
  HistogramOptions,
  InstrumentOptions,
  MetricLabels,
  Metrics,
  ObservableCallback,
  UpDownCounter,
} from '../../src/ports/metrics.js';

/** Defects that can be switched on, one at a time, to show the conformance suite catches them. */
export interface MetricsDefects {
  /** Labels are dropped: every series collapses into one. */
  dropLabels?: boolean;
  /** A negative counter increment is silently ignored instead of throwing. */
  ignoreNegativeCounter?: boolean;
  /** Asking for a name under another kind gives a throw-away instrument instead of throwing. */
  ignoreKindClash?: boolean;
  /** A histogram keeps only the last value (like a gauge). */
  histogramKeepsLast?: boolean;
}

/** A {@link MemoryMetrics} wrapped with deliberate defects, as a harness. Test-only. */
export function brokenMetricsHarness(defects: MetricsDefects): MetricsHarness {
  const inner = new MemoryMetrics();
  const spare = new MemoryMetrics();
  const harness = memoryMetricsHarness(inner);
  const l = (labels?: MetricLabels) => (defects.dropLabels ? undefined : labels);
  const clash = <T>(declare: (m: MemoryMetrics) => T): T => {
    try {
      return declare(inner);
    } catch (error) {
      if (defects.ignoreKindClash && isInfrastructureError(error, 'INVALID_ARGUMENT')) return declare(spare);
      throw error;
    }
  };
  const metrics: Metrics = {
    counter(name: string, options?: InstrumentOptions): Counter {
      const c = clash((m) => m.counter(name, options));
      const add = (value = 1, labels?: MetricLabels) => {
        if (defects.ignoreNegativeCounter && value < 0) return;
        c.add(value, l(labels));
      };
      return { add, bind: (labels) => ({ add: (v = 1) => add(v, labels) }) };
    },
    upDownCounter(name: string, options?: InstrumentOptions): UpDownCounter {
      const c = clash((m) => m.upDownCounter(name, options));
      return {
        add: (v, labels) => c.add(v, l(labels)),
        bind: (labels) => ({ add: (v) => c.add(v, l(labels)) }),
      };
    },
    histogram(name: string, options?: HistogramOptions): Histogram {
      const h = clash((m) => m.histogram(name, options));
      const record = (v: number, labels?: MetricLabels) => {
        if (defects.histogramKeepsLast) inner.reset();
        h.record(v, l(labels));
      };
      return { record, bind: (labels) => ({ record: (v) => record(v, labels) }) };
    },
    gauge(name: string, options?: InstrumentOptions): Gauge {
      const g = clash((m) => m.gauge(name, options));
      return {
        set: (v, labels) => g.set(v, l(labels)),
        bind: (labels) => ({ set: (v) => g.set(v, l(labels)) }),
      };
    },
    observableGauge(name: string, callback: ObservableCallback, options?: InstrumentOptions): void {
      clash((m) =>
        m.observableGauge(
          name,
          (result) => callback({ observe: (v, labels) => result.observe(v, l(labels)) }),
          options,
        ),
      );
    },
    health: () => inner.health(),
    close: () => inner.close(),
  };
  return { metrics, read: harness.read };
}
