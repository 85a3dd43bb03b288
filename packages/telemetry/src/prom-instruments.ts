import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { invalidArgument } from './errors.js';
import { LabelGuard } from './label-guard.js';
import { type HistogramEntry, seriesHash, type ValueEntry, type WithHashMap } from './prom-internals.js';

/** One series of an instrument: its label values (after the guard) and prom-client's key. */
export interface SeriesKey {
  readonly labels: Readonly<Record<string, string>>;
  readonly hash: string;
  /** True when the guard folded a value into `other` (such keys are not worth caching). */
  readonly folded: boolean;
}

/** Label values in the instrument's label order; `undefined` or `''` leaves the label out. */
export type LabelValues = readonly (string | undefined)[];

abstract class Instrument {
  readonly #sorted: readonly string[];

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
    readonly guard: LabelGuard | undefined,
  ) {
    this.#sorted = [...labelNames].sort();
  }

  /** The series for these label values, with every value passed through the guard. */
  key(values: LabelValues): SeriesKey {
    const labels: Record<string, string> = {};
    let folded = false;
    const names = this.labelNames;
    for (let i = 0; i < names.length; i++) {
      const raw = values[i];
      if (raw === undefined || raw === '') continue;
      const value = this.guard ? this.guard.fold(i, raw) : raw;
      if (value !== raw) folded = true;
      labels[names[i]!] = value;
    }
    return { labels, hash: seriesHash(this.#sorted, labels), folded };
  }
}

/** A prom-client histogram updated through pre-resolved series keys. */
export class HistogramInstrument extends Instrument {
  readonly #bounds: readonly number[];
  readonly #bucketKeys: readonly string[];
  readonly #map: WithHashMap<HistogramEntry>;

  constructor(
    name: string,
    readonly metric: Histogram<string>,
    labelNames: readonly string[],
    buckets: readonly number[],
    guard: LabelGuard | undefined,
  ) {
    super(name, labelNames, guard);
    this.#bounds = [...buckets];
    this.#bucketKeys = buckets.map(String);
    this.#map = metric as unknown as WithHashMap<HistogramEntry>;
  }

  record(key: SeriesKey, value: number): void {
    let entry = this.#map.hashMap[key.hash];
    if (entry === undefined) {
      this.metric.zero(key.labels);
      entry = this.#map.hashMap[key.hash];
      if (entry === undefined) {
        this.metric.observe(key.labels, value);
        return;
      }
    }
    entry.sum += value;
    entry.count += 1;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        entry.bucketValues[this.#bucketKeys[i]!]! += 1;
        return;
      }
    }
  }
}

/** A prom-client counter updated through pre-resolved series keys. */
export class CounterInstrument extends Instrument {
  readonly #map: WithHashMap<ValueEntry>;

  constructor(
    name: string,
    readonly metric: Counter<string>,
    labelNames: readonly string[],
    guard: LabelGuard | undefined,
  ) {
    super(name, labelNames, guard);
    this.#map = metric as unknown as WithHashMap<ValueEntry>;
  }

  add(key: SeriesKey, value: number): void {
    let entry = this.#map.hashMap[key.hash];
    if (entry === undefined) {
      this.metric.inc(key.labels, 0);
      entry = this.#map.hashMap[key.hash];
      if (entry === undefined) {
        this.metric.inc(key.labels, value);
        return;
      }
    }
    entry.value += value;
  }
}

/** A prom-client gauge updated through pre-resolved series keys. */
export class GaugeInstrument extends Instrument {
  readonly #map: WithHashMap<ValueEntry>;

  constructor(
    name: string,
    readonly metric: Gauge<string>,
    labelNames: readonly string[],
    guard: LabelGuard | undefined,
  ) {
    super(name, labelNames, guard);
    this.#map = metric as unknown as WithHashMap<ValueEntry>;
  }

  add(key: SeriesKey, value: number): void {
    const entry = this.#map.hashMap[key.hash];
    if (entry === undefined) this.metric.inc(key.labels, value);
    else entry.value += value;
  }

  set(key: SeriesKey, value: number): void {
    const entry = this.#map.hashMap[key.hash];
    if (entry === undefined) this.metric.set(key.labels, value);
    else entry.value = value;
  }

  /** Drops every series (observable gauges start each collection empty). */
  clear(): void {
    this.metric.reset();
  }
}

/** Settings shared by every instrument of one telemetry instance. */
export interface InstrumentFactoryOptions {
  registry: Registry;
  /** Per-label limit of distinct values; `Infinity` turns the guard off. */
  maxLabelValues: number;
}

/**
 * Creates prom-client metrics on one registry, each with its own cardinality guard, and holds
 * the guard's own overflow counter.
 */
export class InstrumentFactory {
  readonly registry: Registry;
  readonly maxLabelValues: number;
  readonly #overflow: CounterInstrument;
  readonly #overflowKeys = new Map<string, SeriesKey>();
  readonly #errors: CounterInstrument;
  readonly #errorKeys = new Map<string, SeriesKey>();
  readonly #names: string[] = [];

  constructor(options: InstrumentFactoryOptions, names: { overflow: string; errors: string }) {
    this.registry = options.registry;
    this.maxLabelValues = options.maxLabelValues;
    this.#overflow = this.counter(
      names.overflow,
      'Label values folded into "other" by the cardinality guard, by metric and label.',
      ['metric', 'label'],
      false,
    );
    this.#errors = this.counter(
      names.errors,
      'Event handlers and observable callbacks that threw, by channel or metric name.',
      ['source'],
      false,
    );
  }

  /** Counts a failure of an event handler or observable callback (never throws). */
  reportError(source: string): void {
    let key = this.#errorKeys.get(source);
    if (key === undefined) {
      key = this.#errors.key([source]);
      this.#errorKeys.set(source, key);
    }
    this.#errors.add(key, 1);
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    const metric = this.#register(
      name,
      () => new Histogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [] }),
    );
    return new HistogramInstrument(name, metric, labelNames, buckets, this.#guard(name, labelNames));
  }

  counter(name: string, help: string, labelNames: readonly string[], guarded = true) {
    const metric = this.#register(
      name,
      () => new Counter({ name, help, labelNames: [...labelNames], registers: [] }),
    );
    return new CounterInstrument(
      name,
      metric,
      labelNames,
      guarded ? this.#guard(name, labelNames) : undefined,
    );
  }

  gauge(name: string, help: string, labelNames: readonly string[], collect?: () => Promise<void>) {
    const metric = this.#register(name, () =>
      collect
        ? new Gauge({ name, help, labelNames: [...labelNames], registers: [], collect })
        : new Gauge({ name, help, labelNames: [...labelNames], registers: [] }),
    );
    return new GaugeInstrument(name, metric, labelNames, this.#guard(name, labelNames));
  }

  #register<M extends Counter<string> | Gauge<string> | Histogram<string>>(name: string, create: () => M): M {
    if (this.registry.getSingleMetric(name)) {
      throw invalidArgument(`a metric named ${name} is already registered on this registry`);
    }
    let metric: M;
    try {
      metric = create();
    } catch (error) {
      throw invalidArgument(`cannot create metric ${name}: ${(error as Error).message}`);
    }
    this.registry.registerMetric(metric);
    this.#names.push(name);
    return metric;
  }

  /** Removes every metric this factory registered (and `extra` names) from the registry. */
  unregisterAll(extra: readonly string[] = []): void {
    for (const name of [...this.#names, ...extra]) this.registry.removeSingleMetric(name);
    this.#names.length = 0;
  }

  #guard(name: string, labelNames: readonly string[]): LabelGuard | undefined {
    if (labelNames.length === 0 || this.maxLabelValues === Number.POSITIVE_INFINITY) return undefined;
    return new LabelGuard(name, labelNames, this.maxLabelValues, (metric, label) => {
      const id = `${metric}\u0000${label}`;
      let key = this.#overflowKeys.get(id);
      if (key === undefined) {
        key = this.#overflow.key([metric, label]);
        this.#overflowKeys.set(id, key);
      }
      this.#overflow.add(key, 1);
    });
  }
}
