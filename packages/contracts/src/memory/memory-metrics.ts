import { readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  BoundUpDownCounter,
  Counter,
  Gauge,
  Histogram,
  HistogramOptions,
  InstrumentOptions,
  MetricLabels,
  Metrics,
  ObservableCallback,
  ObservableResult,
  UpDownCounter,
} from '../ports/metrics.js';
import {
  readMetricLabelNames,
  validateMetricBuckets,
  validateMetricDescription,
  validateMetricName,
  validateMetricUnit,
} from '../validate-metric.js';

const PREFIX = '[voelgoed:contracts]';

/** The kinds of instrument {@link MemoryMetrics} knows. */
export type InstrumentKind = 'counter' | 'upDownCounter' | 'histogram' | 'gauge' | 'observableGauge';

/** What a histogram series has recorded. */
export interface HistogramSnapshot {
  count: number;
  sum: number;
  /** Every recorded value, in order. */
  values: readonly number[];
}

/** One recorded series: an instrument with one set of label values. */
export interface MetricSeries {
  name: string;
  kind: InstrumentKind;
  /** Label values as strings (labels never given are left out). */
  labels: Readonly<Record<string, string>>;
  /** Counter, up-down counter and gauge value (undefined for histograms). */
  value?: number;
  /** Histogram record (undefined for other kinds). */
  histogram?: HistogramSnapshot;
}

interface Series {
  labels: Record<string, string>;
  value: number;
  values: number[];
}

interface Instrument {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly labelNames: readonly string[];
  readonly options: HistogramOptions;
  readonly series: Map<string, Series>;
  readonly callbacks: ObservableCallback[];
  handle?: unknown;
}

/**
 * An in-memory {@link Metrics} that records everything observed, for assertions in tests:
 * {@link MemoryMetrics.value}, {@link MemoryMetrics.histogramSnapshot},
 * {@link MemoryMetrics.series}. It validates exactly as the port says (names, kinds, labels,
 * values), throwing `InvalidArgumentError`.
 *
 * @example
 * const metrics = new MemoryMetrics();
 * const orders = metrics.counter('shop.orders', { labelNames: ['status'] });
 * orders.add(1, { status: 'paid' });
 * expect(metrics.value('shop.orders', { status: 'paid' })).toBe(1);
 */
export class MemoryMetrics implements Metrics {
  readonly #instruments = new Map<string, Instrument>();

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('metrics', this.#closed);
  }

  /** Marks it closed: `health()` reports `down` from then on. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  counter(name: string, options: InstrumentOptions = {}): Counter {
    const inst = this.#declare(name, 'counter', options);
    if (!inst.handle) {
      const add = (key: string, labels: Record<string, string>, value: number) => {
        checkFinite(value, name);
        if (value < 0) throw new InvalidArgumentError(`${PREFIX} counter ${name} cannot decrease`);
        this.#series(inst, key, labels).value += value;
      };
      inst.handle = {
        add: (value = 1, labels?: MetricLabels) => add(...resolve(inst, labels), value),
        bind: (labels: MetricLabels): BoundCounter => {
          const [key, l] = resolve(inst, labels);
          return { add: (value = 1) => add(key, l, value) };
        },
      } satisfies Counter;
    }
    return inst.handle as Counter;
  }

  upDownCounter(name: string, options: InstrumentOptions = {}): UpDownCounter {
    const inst = this.#declare(name, 'upDownCounter', options);
    if (!inst.handle) {
      const add = (key: string, labels: Record<string, string>, value: number) => {
        checkFinite(value, name);
        this.#series(inst, key, labels).value += value;
      };
      inst.handle = {
        add: (value: number, labels?: MetricLabels) => add(...resolve(inst, labels), value),
        bind: (labels: MetricLabels): BoundUpDownCounter => {
          const [key, l] = resolve(inst, labels);
          return { add: (value: number) => add(key, l, value) };
        },
      } satisfies UpDownCounter;
    }
    return inst.handle as UpDownCounter;
  }

  histogram(name: string, options: HistogramOptions = {}): Histogram {
    const inst = this.#declare(name, 'histogram', options);
    if (!inst.handle) {
      const record = (key: string, labels: Record<string, string>, value: number) => {
        checkFinite(value, name);
        const series = this.#series(inst, key, labels);
        series.value += value;
        series.values.push(value);
      };
      inst.handle = {
        record: (value: number, labels?: MetricLabels) => record(...resolve(inst, labels), value),
        bind: (labels: MetricLabels): BoundHistogram => {
          const [key, l] = resolve(inst, labels);
          return { record: (value: number) => record(key, l, value) };
        },
      } satisfies Histogram;
    }
    return inst.handle as Histogram;
  }

  gauge(name: string, options: InstrumentOptions = {}): Gauge {
    const inst = this.#declare(name, 'gauge', options);
    if (!inst.handle) {
      const set = (key: string, labels: Record<string, string>, value: number) => {
        checkFinite(value, name);
        this.#series(inst, key, labels).value = value;
      };
      inst.handle = {
        set: (value: number, labels?: MetricLabels) => set(...resolve(inst, labels), value),
        bind: (labels: MetricLabels): BoundGauge => {
          const [key, l] = resolve(inst, labels);
          return { set: (value: number) => set(key, l, value) };
        },
      } satisfies Gauge;
    }
    return inst.handle as Gauge;
  }

  observableGauge(name: string, callback: ObservableCallback, options: InstrumentOptions = {}): void {
    if (typeof callback !== 'function') {
      throw new InvalidArgumentError(
        `${PREFIX} observableGauge ${typeof name === 'string' ? name.slice(0, 64) : typeof name} needs a callback`,
      );
    }
    this.#declare(name, 'observableGauge', options).callbacks.push(callback);
  }

  /**
   * Runs every observable callback; their observations replace the previous ones. Rejects with
   * the callback's error if one throws (an `InvalidArgumentError` for a bad observation).
   */
  async collect(): Promise<void> {
    for (const inst of this.#instruments.values()) {
      if (inst.kind !== 'observableGauge') continue;
      inst.series.clear();
      const result: ObservableResult = {
        observe: (value: number, labels?: MetricLabels) => {
          checkFinite(value, inst.name);
          const [key, l] = resolve(inst, labels);
          this.#series(inst, key, l).value = value;
        },
      };
      for (const callback of inst.callbacks) await callback(result);
    }
  }

  /**
   * The value of a counter, up-down counter, gauge or (after {@link MemoryMetrics.collect})
   * observable gauge for exactly these labels; `undefined` when nothing was recorded there.
   */
  value(name: string, labels?: MetricLabels): number | undefined {
    const inst = this.#instruments.get(name);
    if (!inst) return undefined;
    if (inst.kind === 'histogram') {
      throw new InvalidArgumentError(`${PREFIX} ${name} is a histogram: use histogramSnapshot()`);
    }
    return inst.series.get(resolve(inst, labels)[0])?.value;
  }

  /** What a histogram recorded for exactly these labels; `undefined` when nothing was. */
  histogramSnapshot(name: string, labels?: MetricLabels): HistogramSnapshot | undefined {
    const inst = this.#instruments.get(name);
    if (!inst) return undefined;
    if (inst.kind !== 'histogram') {
      throw new InvalidArgumentError(`${PREFIX} ${name} is a ${inst.kind}, not a histogram`);
    }
    const series = inst.series.get(resolve(inst, labels)[0]);
    if (!series) return undefined;
    return { count: series.values.length, sum: series.value, values: [...series.values] };
  }

  /** Every recorded series (observable gauges as of the last collect). */
  series(): MetricSeries[] {
    const out: MetricSeries[] = [];
    for (const inst of this.#instruments.values()) {
      for (const s of inst.series.values()) {
        const labels = { ...s.labels };
        out.push(
          inst.kind === 'histogram'
            ? {
                name: inst.name,
                kind: inst.kind,
                labels,
                histogram: { count: s.values.length, sum: s.value, values: [...s.values] },
              }
            : { name: inst.name, kind: inst.kind, labels, value: s.value },
        );
      }
    }
    return out;
  }

  /** The declared kind of `name`, or `undefined`. */
  kindOf(name: string): InstrumentKind | undefined {
    return this.#instruments.get(name)?.kind;
  }

  /** Forgets every recorded value; instruments, bound handles and callbacks stay usable. */
  reset(): void {
    for (const inst of this.#instruments.values()) inst.series.clear();
  }

  #declare(name: string, kind: InstrumentKind, options: HistogramOptions): Instrument {
    validateMetricName(name, PREFIX);
    const existing = this.#instruments.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        throw new InvalidArgumentError(
          `${PREFIX} metric ${name} is already a ${existing.kind}, not a ${kind}`,
        );
      }
      return existing;
    }
    const read = readOptions(
      options,
      ['labelNames', 'buckets', 'unit', 'description'],
      `options of ${name}`,
      PREFIX,
    );
    const labelNames = readMetricLabelNames(read.labelNames ?? [], name, kind, PREFIX);
    validateMetricDescription(read.description, name, PREFIX);
    validateMetricUnit(read.unit, name, PREFIX);
    if (read.buckets !== undefined) validateMetricBuckets(read.buckets, `buckets of ${name}`, PREFIX);
    const inst: Instrument = {
      name,
      kind,
      labelNames,
      options: read.buckets === undefined ? {} : { buckets: [...(read.buckets as number[])] },
      series: new Map(),
      callbacks: [],
    };
    this.#instruments.set(name, inst);
    return inst;
  }

  #series(inst: Instrument, key: string, labels: Record<string, string>): Series {
    let series = inst.series.get(key);
    if (!series) {
      series = { labels, value: 0, values: [] };
      inst.series.set(key, series);
    }
    return series;
  }
}

/** Checks labels against the declared names; returns the series key and the string labels. */
function resolve(inst: Instrument, labels: MetricLabels | undefined): [string, Record<string, string>] {
  const out: Record<string, string> = {};
  for (const [label, value] of readLabels(inst, labels)) {
    if (!inst.labelNames.includes(label)) {
      throw new InvalidArgumentError(
        `${PREFIX} label ${JSON.stringify(label.slice(0, 64))} is not declared for ${inst.name}`,
      );
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new InvalidArgumentError(
        `${PREFIX} label ${label} of ${inst.name} must be a string, number or boolean`,
      );
    }
    // An empty value is the same as no value (as in Prometheus).
    if (String(value) !== '') out[label] = String(value);
  }
  const key = JSON.stringify(inst.labelNames.map((label) => out[label] ?? ''));
  return [key, out];
}

/** The entries of a labels object, read without trusting it (a Proxy or a throwing getter is refused). */
function readLabels(inst: Instrument, labels: MetricLabels | undefined): [string, unknown][] {
  if (labels === undefined) return [];
  if (typeof labels !== 'object' || labels === null) {
    throw new InvalidArgumentError(`${PREFIX} labels of ${inst.name} must be an object`);
  }
  try {
    return Object.entries(labels);
  } catch (error) {
    throw new InvalidArgumentError(`${PREFIX} labels of ${inst.name} could not be read`, { cause: error });
  }
}

function checkFinite(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${PREFIX} ${name}: value must be a finite number`);
  }
}
