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
} from '@voelgoed/contracts';
import { closedHealth, type HealthReport } from '@voelgoed/contracts';
import { invalidArgument, unreadable } from './errors.js';
import {
  checkBuckets,
  checkLabelNames,
  checkMetricName,
  readBuckets,
  readDeclaration,
  shown,
} from './naming.js';

type Kind = 'counter' | 'upDownCounter' | 'histogram' | 'gauge' | 'observableGauge';

/**
 * A `Metrics` that records nothing, for code that takes the port when no one wants metrics.
 * It still rejects what the port says is invalid (bad names, kind clashes, undeclared labels,
 * non-finite values, negative counter increments), so swapping it in changes no behaviour;
 * observable callbacks are never called.
 */
export class NoopMetrics implements Metrics {
  readonly #declared = new Map<string, { kind: Kind; handle: unknown }>();
  #closed = false;

  /** `up` until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return this.#closed
      ? closedHealth('metrics')
      : { status: 'up', resource: 'metrics', details: { driver: 'noop' } };
  }

  /** Marks it closed (`health()` reports `down`). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  counter(name: string, options: InstrumentOptions = {}): Counter {
    return this.#declare(name, 'counter', options, (check) => {
      const add = (value = 1, labels?: MetricLabels) => {
        finite(value, name);
        if (value < 0) throw invalidArgument(`counter ${name} cannot decrease`);
        check(labels);
      };
      return {
        add,
        bind: (labels: MetricLabels) => {
          check(labels);
          return { add: (value = 1) => add(value) };
        },
      } satisfies Counter;
    }) as Counter;
  }

  upDownCounter(name: string, options: InstrumentOptions = {}): UpDownCounter {
    return this.#declare(name, 'upDownCounter', options, (check) => {
      const add = (value: number, labels?: MetricLabels) => {
        finite(value, name);
        check(labels);
      };
      return {
        add,
        bind: (labels: MetricLabels) => {
          check(labels);
          return { add: (value: number) => add(value) };
        },
      } satisfies UpDownCounter;
    }) as UpDownCounter;
  }

  histogram(name: string, options: HistogramOptions = {}): Histogram {
    const buckets = readBuckets(options, typeof name === 'string' ? name : 'a histogram');
    if (buckets !== undefined) checkBuckets(buckets, `buckets of ${name}`);
    return this.#declare(name, 'histogram', options, (check) => {
      const record = (value: number, labels?: MetricLabels) => {
        finite(value, name);
        check(labels);
      };
      return {
        record,
        bind: (labels: MetricLabels) => {
          check(labels);
          return { record: (value: number) => record(value) };
        },
      } satisfies Histogram;
    }) as Histogram;
  }

  gauge(name: string, options: InstrumentOptions = {}): Gauge {
    return this.#declare(name, 'gauge', options, (check) => {
      const set = (value: number, labels?: MetricLabels) => {
        finite(value, name);
        check(labels);
      };
      return {
        set,
        bind: (labels: MetricLabels) => {
          check(labels);
          return { set: (value: number) => set(value) };
        },
      } satisfies Gauge;
    }) as Gauge;
  }

  observableGauge(name: string, callback: ObservableCallback, options: InstrumentOptions = {}): void {
    if (typeof callback !== 'function')
      throw invalidArgument(`observableGauge ${shown(name)} needs a callback`);
    this.#declare(name, 'observableGauge', options, () => undefined);
  }

  #declare(
    name: string,
    kind: Kind,
    options: InstrumentOptions,
    create: (check: (labels: MetricLabels | undefined) => void) => unknown,
  ): unknown {
    checkMetricName(name);
    const existing = this.#declared.get(name);
    if (existing) {
      if (existing.kind !== kind)
        throw invalidArgument(`metric ${name} is already a ${existing.kind}, not a ${kind}`);
      return existing.handle;
    }
    const declaration = readDeclaration(options, name);
    const labelNames = checkLabelNames(declaration.labelNames ?? [], name, kind);
    const declared = new Set<string>(labelNames);
    const check = (labels: MetricLabels | undefined) => {
      if (labels === undefined) return;
      if (typeof labels !== 'object' || labels === null)
        throw invalidArgument(`labels of ${name} must be an object`);
      try {
        for (const label in labels) {
          if (!declared.has(label))
            throw invalidArgument(`label ${shown(label)} is not declared for ${name}`);
          const value = labels[label];
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            throw invalidArgument(`label ${label} of ${name} must be a string, number or boolean`);
          }
        }
      } catch (error) {
        throw unreadable(error, name);
      }
    };
    const handle = create(check);
    this.#declared.set(name, { kind, handle });
    return handle;
  }
}

function finite(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(`${name}: value must be a finite number`);
  }
}

/** A fresh {@link NoopMetrics}. */
export function createNoopMetrics(): Metrics {
  return new NoopMetrics();
}
