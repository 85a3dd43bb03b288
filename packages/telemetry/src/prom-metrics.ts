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
  UpDownCounter,
} from '@voelgoed/contracts';
import { closedHealth, type HealthReport, type Logger } from '@voelgoed/contracts';
import { CallbackLog } from './callback-log.js';
import { invalidArgument, unreadable } from './errors.js';
import {
  checkBuckets,
  checkLabelNames,
  checkMetricName,
  prometheusName,
  readBuckets,
  readDeclaration,
  shown,
} from './naming.js';
import { ObservableCallbacks } from './observable-callbacks.js';
import type {
  CounterInstrument,
  GaugeInstrument,
  HistogramInstrument,
  InstrumentFactory,
  LabelValues,
  SeriesKey,
} from './prom-instruments.js';
import { SeriesCache } from './series-cache.js';

type Kind = 'counter' | 'upDownCounter' | 'histogram' | 'gauge' | 'observableGauge';

interface Declared {
  readonly kind: Kind;
  readonly promName?: string;
  readonly handle: unknown;
  readonly callbacks?: ObservableCallbacks;
}

/**
 * Resolves port label objects to series keys for one instrument, checking them as the port
 * says. Label values seen before are found through nested Maps (no string building, no guard
 * lookups); the first sighting goes through the guard and prom-client's key.
 */
class LabelResolver {
  readonly #index: Map<string, number>;
  readonly #names: readonly string[];
  #none: SeriesKey | undefined;
  readonly #scratch: unknown[];
  readonly #cache: SeriesCache<SeriesKey>;

  constructor(
    readonly metric: string,
    readonly instrument: { labelNames: readonly string[]; key(values: LabelValues): SeriesKey },
    cacheLimit: number,
  ) {
    this.#names = instrument.labelNames;
    this.#index = new Map(this.#names.map((name, i) => [name, i]));
    this.#scratch = this.#names.map(() => undefined);
    this.#cache = new SeriesCache(
      Math.max(1, this.#names.length),
      (values) => {
        const key = instrument.key(values.map((v) => (v === undefined ? undefined : String(v))));
        return { value: key, cacheable: !key.folded };
      },
      cacheLimit,
    );
  }

  key(labels: MetricLabels | undefined): SeriesKey {
    if (labels === undefined) return this.#noLabels();
    try {
      this.#read(labels);
    } catch (error) {
      // A Proxy trap or a throwing getter in the caller's labels: their mistake, not ours.
      throw unreadable(error, this.metric);
    }
    return this.#names.length === 0 ? this.#noLabels() : this.#cache.get(this.#scratch);
  }

  /** Reads the caller's labels into the scratch values, checking them. */
  #read(labels: MetricLabels): void {
    if (typeof labels !== 'object' || labels === null) {
      throw invalidArgument(`labels of ${this.metric} must be an object`);
    }
    const names = this.#names;
    const scratch = this.#scratch;
    let defined = 0;
    for (let i = 0; i < names.length; i++) {
      // biome-ignore lint/style/noNonNullAssertion: i < names.length (per-call path: no extra check)
      const value = labels[names[i]!];
      if (value !== undefined) {
        if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
          throw invalidArgument(`label ${names[i]} of ${this.metric} must be a string, number or boolean`);
        }
        defined++;
      }
      scratch[i] = value;
    }
    let total = 0;
    for (const _ in labels) total++;
    if (total !== defined) this.#checkNames(labels);
  }

  /** The series without labels, resolved on first use (it counts against the series cap). */
  #noLabels(): SeriesKey {
    if (this.#none !== undefined) return this.#none;
    const key = this.instrument.key([]);
    if (!key.folded) this.#none = key;
    return key;
  }

  /** Throws for a label name that was not declared (the fast path only counted them). */
  #checkNames(labels: MetricLabels): void {
    for (const label in labels) {
      if (!this.#index.has(label)) {
        throw invalidArgument(`label ${shown(label)} is not declared for ${this.metric}`);
      }
    }
  }
}

function checkValue(value: unknown, metric: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(`${metric}: value must be a finite number`);
  }
}

function checkIncrement(value: unknown, metric: string): asserts value is number {
  checkValue(value, metric);
  if (value < 0) throw invalidArgument(`counter ${metric} cannot decrease`);
}

class BoundCounterHandle implements BoundCounter {
  constructor(
    readonly metric: string,
    readonly instrument: CounterInstrument,
    readonly key: SeriesKey,
  ) {}
  add(value = 1): void {
    checkIncrement(value, this.metric);
    this.instrument.add(this.key, value);
  }
}

class BoundUpDownHandle implements BoundUpDownCounter {
  constructor(
    readonly metric: string,
    readonly instrument: GaugeInstrument,
    readonly key: SeriesKey,
  ) {}
  add(value: number): void {
    checkValue(value, this.metric);
    this.instrument.add(this.key, value);
  }
}

class BoundHistogramHandle implements BoundHistogram {
  constructor(
    readonly metric: string,
    readonly instrument: HistogramInstrument,
    readonly key: SeriesKey,
  ) {}
  record(value: number): void {
    checkValue(value, this.metric);
    this.instrument.record(this.key, value);
  }
}

class BoundGaugeHandle implements BoundGauge {
  constructor(
    readonly metric: string,
    readonly instrument: GaugeInstrument,
    readonly key: SeriesKey,
  ) {}
  set(value: number): void {
    checkValue(value, this.metric);
    this.instrument.set(this.key, value);
  }
}

/** Options of {@link PromMetrics}. */
export interface PromMetricsOptions {
  /** Prepended to every Prometheus name. */
  prefix: string;
  /** Buckets of histograms declared without a `buckets` hint. */
  defaultBuckets: readonly number[];
  /** Time box (ms) of each observable callback at a collection. */
  callbackTimeoutMs: number;
  /** Where failed and timed-out observable callbacks are logged (default: nowhere). */
  logger?: Logger;
}

/**
 * The contracts' `Metrics` port on prom-client. Port names (`http.server.duration`, unit `s`)
 * become Prometheus names (`http_server_duration_seconds`); counters end in `_total`. Every
 * instrument has the cardinality guard of its factory.
 */
export class PromMetrics implements Metrics {
  readonly #declared = new Map<string, Declared>();
  #closed = false;
  #callbackLog: CallbackLog | undefined;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return this.#closed
      ? closedHealth('metrics')
      : { status: 'up', resource: 'metrics', details: { driver: 'prometheus' } };
  }

  /** Marks it closed (`health()` reports `down`). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(
    readonly factory: InstrumentFactory,
    readonly options: PromMetricsOptions,
  ) {}

  #callbacks(): CallbackLog {
    this.#callbackLog ??= new CallbackLog(this.options.logger, this.options.callbackTimeoutMs);
    return this.#callbackLog;
  }

  counter(name: string, options: InstrumentOptions = {}): Counter {
    return this.#declare(name, 'counter', options, (promName, help, labelNames) => {
      const inst = this.factory.counter(promName, help, labelNames);
      const labels = new LabelResolver(name, inst, this.factory.cacheLimit);
      return {
        add(value = 1, l?: MetricLabels) {
          checkIncrement(value, name);
          inst.add(labels.key(l), value);
        },
        bind: (l: MetricLabels) => new BoundCounterHandle(name, inst, labels.key(l)),
      } satisfies Counter;
    }) as Counter;
  }

  upDownCounter(name: string, options: InstrumentOptions = {}): UpDownCounter {
    return this.#declare(name, 'upDownCounter', options, (promName, help, labelNames) => {
      const inst = this.factory.gauge(promName, help, labelNames);
      const labels = new LabelResolver(name, inst, this.factory.cacheLimit);
      return {
        add(value: number, l?: MetricLabels) {
          checkValue(value, name);
          inst.add(labels.key(l), value);
        },
        bind: (l: MetricLabels) => new BoundUpDownHandle(name, inst, labels.key(l)),
      } satisfies UpDownCounter;
    }) as UpDownCounter;
  }

  histogram(name: string, options: HistogramOptions = {}): Histogram {
    const buckets = readBuckets(options, typeof name === 'string' ? name : 'a histogram');
    if (buckets !== undefined) checkBuckets(buckets, `buckets of ${name}`);
    return this.#declare(name, 'histogram', options, (promName, help, labelNames) => {
      const inst = this.factory.histogram(
        promName,
        help,
        labelNames,
        (buckets as readonly number[] | undefined) ?? this.options.defaultBuckets,
      );
      const labels = new LabelResolver(name, inst, this.factory.cacheLimit);
      return {
        record(value: number, l?: MetricLabels) {
          checkValue(value, name);
          inst.record(labels.key(l), value);
        },
        bind: (l: MetricLabels) => new BoundHistogramHandle(name, inst, labels.key(l)),
      } satisfies Histogram;
    }) as Histogram;
  }

  gauge(name: string, options: InstrumentOptions = {}): Gauge {
    return this.#declare(name, 'gauge', options, (promName, help, labelNames) => {
      const inst = this.factory.gauge(promName, help, labelNames);
      const labels = new LabelResolver(name, inst, this.factory.cacheLimit);
      return {
        set(value: number, l?: MetricLabels) {
          checkValue(value, name);
          inst.set(labels.key(l), value);
        },
        bind: (l: MetricLabels) => new BoundGaugeHandle(name, inst, labels.key(l)),
      } satisfies Gauge;
    }) as Gauge;
  }

  observableGauge(name: string, callback: ObservableCallback, options: InstrumentOptions = {}): void {
    if (typeof callback !== 'function') {
      throw invalidArgument(`observableGauge ${shown(name)} needs a callback`);
    }
    const declared = this.#declareEntry(name, 'observableGauge', options, (promName, help, labelNames) => {
      const factory = this.factory;
      const callbacks = new ObservableCallbacks(this.options.callbackTimeoutMs, {
        onError: (error) => {
          factory.reportError(promName);
          this.#callbacks().failed(promName, error);
        },
        onTimeout: () => {
          factory.reportTimeout(promName);
          this.#callbacks().timedOut(promName);
        },
      });
      let labels: LabelResolver | undefined;
      const inst: GaugeInstrument = factory.gauge(promName, help, labelNames, async () => {
        inst.clear();
        await callbacks.collect((value, l) => {
          checkValue(value, name);
          // biome-ignore lint/style/noNonNullAssertion: set right after the gauge is made, before any scrape runs this
          inst.set(labels!.key(l), value);
        });
      });
      labels = new LabelResolver(name, inst, factory.cacheLimit);
      return { kind: 'observableGauge', promName, handle: undefined, callbacks };
    });
    // biome-ignore lint/style/noNonNullAssertion: an observableGauge entry (new, or found of the same kind) always has callbacks
    declared.callbacks!.add(callback);
  }

  /**
   * The Prometheus name of the instrument declared as `name` (`shop.orders` →
   * `shop_orders_total`), or `undefined` when none is.
   */
  metricName(name: string): string | undefined {
    return this.#declared.get(name)?.promName;
  }

  #declare(
    name: string,
    kind: Kind,
    options: InstrumentOptions,
    create: (promName: string, help: string, labelNames: readonly string[]) => unknown,
  ): unknown {
    return this.#declareEntry(name, kind, options, (promName, help, labelNames) => ({
      kind,
      promName,
      handle: create(promName, help, labelNames),
    })).handle;
  }

  #declareEntry(
    name: string,
    kind: Kind,
    options: InstrumentOptions,
    create: (promName: string, help: string, labelNames: readonly string[]) => Declared,
  ): Declared {
    checkMetricName(name);
    const existing = this.#declared.get(name);
    if (existing) {
      if (existing.kind !== kind)
        throw invalidArgument(`metric ${name} is already a ${existing.kind}, not a ${kind}`);
      return existing;
    }
    const declaration = readDeclaration(options, name);
    const labelNames = checkLabelNames(declaration.labelNames ?? [], name, kind);
    const promName = prometheusName(name, {
      unit: declaration.unit,
      counter: kind === 'counter',
      prefix: this.options.prefix,
    });
    const help =
      declaration.description !== undefined && declaration.description !== ''
        ? declaration.description
        : name;
    const declared = create(promName, help, labelNames);
    this.#declared.set(name, declared);
    return declared;
  }
}
