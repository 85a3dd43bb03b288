import { InvalidArgumentError } from '../errors.js';
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

const PREFIX = '[voelgoed:contracts]';
const NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;

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
      throw new InvalidArgumentError(`${PREFIX} observableGauge ${String(name)} needs a callback`);
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
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new InvalidArgumentError(
        `${PREFIX} metric name must match ${NAME.source}, got ${typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name}`,
      );
    }
    const existing = this.#instruments.get(name);
    if (existing) {
      if (existing.kind !== kind) {
        throw new InvalidArgumentError(
          `${PREFIX} metric ${name} is already a ${existing.kind}, not a ${kind}`,
        );
      }
      return existing;
    }
    const labelNames = options.labelNames ?? [];
    if (!Array.isArray(labelNames)) {
      throw new InvalidArgumentError(`${PREFIX} labelNames of ${name} must be an array`);
    }
    for (const label of labelNames) {
      if (typeof label !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) {
        throw new InvalidArgumentError(`${PREFIX} label names of ${name} must match [a-zA-Z_][a-zA-Z0-9_]*`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new InvalidArgumentError(`${PREFIX} label names of ${name} must not repeat`);
    }
    if (options.buckets !== undefined) {
      const b = options.buckets;
      if (
        !Array.isArray(b) ||
        b.some((v, i) => !Number.isFinite(v) || (i > 0 && v <= (b[i - 1] as number)))
      ) {
        throw new InvalidArgumentError(`${PREFIX} buckets of ${name} must be finite and ascending`);
      }
    }
    const inst: Instrument = {
      name,
      kind,
      labelNames: [...labelNames],
      options: { ...options },
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
  if (labels !== undefined) {
    if (typeof labels !== 'object' || labels === null) {
      throw new InvalidArgumentError(`${PREFIX} labels of ${inst.name} must be an object`);
    }
    for (const [label, value] of Object.entries(labels)) {
      if (!inst.labelNames.includes(label)) {
        throw new InvalidArgumentError(
          `${PREFIX} label ${JSON.stringify(label)} is not declared for ${inst.name}`,
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
  }
  const key = JSON.stringify(inst.labelNames.map((label) => out[label] ?? ''));
  return [key, out];
}

function checkFinite(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidArgumentError(`${PREFIX} ${name}: value must be a finite number`);
  }
}
