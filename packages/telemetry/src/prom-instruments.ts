import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { invalidArgument } from './errors.js';
import { LabelGuard, OTHER } from './label-guard.js';
import { type HistogramEntry, seriesHash, type ValueEntry, type WithHashMap } from './prom-internals.js';
import { SeriesGuard } from './series-guard.js';

/** One series of an instrument: its label values (after the guards) and prom-client's key. */
export interface SeriesKey {
  readonly labels: Readonly<Record<string, string>>;
  readonly hash: string;
  /** True when a guard folded a value into {@link OTHER} (such keys are not worth caching). */
  readonly folded: boolean;
}

/** The guards of one instrument (none for an unlabelled one or the package's own counters). */
export interface InstrumentGuards {
  readonly labels: LabelGuard;
  readonly series: SeriesGuard | undefined;
}

/** Label values in the instrument's label order; `undefined` or `''` leaves the label out. */
export type LabelValues = readonly (string | undefined)[];

abstract class Instrument {
  readonly #sorted: readonly string[];
  /** The overflow series: every label {@link OTHER}. */
  readonly #overflow: SeriesKey;

  constructor(
    readonly name: string,
    readonly labelNames: readonly string[],
    readonly guards: InstrumentGuards | undefined,
  ) {
    this.#sorted = [...labelNames].sort();
    const labels = Object.fromEntries(labelNames.map((label) => [label, OTHER]));
    this.#overflow = { labels, hash: seriesHash(this.#sorted, labels), folded: true };
  }

  /**
   * The series for these label values: every value passed through the label guard, and the
   * label set through the series guard (past the metric's series cap, the overflow series).
   */
  key(values: LabelValues): SeriesKey {
    const labels: Record<string, string> = {};
    let folded = false;
    const names = this.labelNames;
    const guards = this.guards;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const raw = values[i];
      if (name === undefined || raw === undefined || raw === '') continue;
      const value = guards ? guards.labels.fold(i, raw) : raw;
      if (value === OTHER && guards) folded = true;
      labels[name] = value;
    }
    const hash = seriesHash(this.#sorted, labels);
    if (hash === this.#overflow.hash) return this.#overflow;
    if (guards?.series && !guards.series.admit(hash)) return this.#overflow;
    return { labels, hash, folded };
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
    guards: InstrumentGuards | undefined,
  ) {
    super(name, labelNames, guards);
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
      // biome-ignore lint/style/noNonNullAssertion: i < bounds.length (per-event path: no extra check)
      if (value <= bounds[i]!) {
        // biome-ignore lint/style/noNonNullAssertion: one key per bound, and zero() gave every bucket a value
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
    guards: InstrumentGuards | undefined,
  ) {
    super(name, labelNames, guards);
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
    guards: InstrumentGuards | undefined,
  ) {
    super(name, labelNames, guards);
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
  /** Per-label limit of distinct values; `Infinity` turns that limit off. */
  maxLabelValues: number;
  /** Longest label value kept; longer ones fold. `Infinity` turns that limit off. */
  maxLabelValueLength: number;
  /** Distinct label sets per metric before new ones go to its overflow series; `Infinity`: none. */
  maxSeriesPerMetric: number;
}

/** Names (prefixed) of the counters the factory keeps about itself. */
export interface InstrumentFactoryNames {
  overflow: string;
  seriesOverflow: string;
  errors: string;
  timeouts: string;
}

/** One of the package's own counters, with its series keys kept by label value. */
class OwnCounter {
  readonly #keys = new Map<string, SeriesKey>();

  constructor(readonly instrument: CounterInstrument) {}

  add(values: readonly string[]): void {
    const id = values.join('\u0000');
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = this.instrument.key(values);
      this.#keys.set(id, key);
    }
    this.instrument.add(key, 1);
  }
}

/**
 * Creates prom-client metrics on one registry, each with its own cardinality guards, and holds
 * the guards' overflow counters, the errors counter and the callback timeouts counter.
 */
export class InstrumentFactory {
  readonly registry: Registry;
  readonly maxLabelValues: number;
  readonly maxLabelValueLength: number;
  readonly maxSeriesPerMetric: number;
  readonly #overflow: OwnCounter;
  readonly #seriesOverflow: OwnCounter;
  readonly #errors: OwnCounter;
  readonly #timeouts: OwnCounter;
  readonly #names: string[] = [];

  constructor(options: InstrumentFactoryOptions, names: InstrumentFactoryNames) {
    this.registry = options.registry;
    this.maxLabelValues = options.maxLabelValues;
    this.maxLabelValueLength = options.maxLabelValueLength;
    this.maxSeriesPerMetric = options.maxSeriesPerMetric;
    const own = (name: string, help: string, labelNames: readonly string[]) =>
      new OwnCounter(this.counter(name, help, labelNames, false));
    // Undone when one clashes (the registry has it already): a failed create leaves nothing.
    try {
      this.#overflow = own(
        names.overflow,
        `Label values folded into "${OTHER}" (past the label's limit of distinct values, or too long), by metric and label.`,
        ['metric', 'label'],
      );
      this.#seriesOverflow = own(
        names.seriesOverflow,
        "New label sets recorded in a metric's overflow series because it reached its series cap, by metric.",
        ['metric'],
      );
      this.#errors = own(
        names.errors,
        'Event handlers and observable callbacks that threw, by channel or metric name.',
        ['source'],
      );
      this.#timeouts = own(
        names.timeouts,
        'Observable callbacks that had not settled within their time box at a collection, by metric.',
        ['metric'],
      );
    } catch (error) {
      this.unregisterAll();
      throw error;
    }
  }

  /**
   * Map entries a series cache of one metric may hold: a few per admitted series (several raw
   * values may normalise to one series), bounded even when the caps are off.
   */
  get cacheLimit(): number {
    const cap = Math.min(this.maxSeriesPerMetric, 25_000);
    return Math.max(4 * cap, 64);
  }

  /** Counts a failure of an event handler or observable callback (never throws). */
  reportError(source: string): void {
    this.#errors.add([source]);
  }

  /** Counts an observable callback of `metric` that outlived its time box (never throws). */
  reportTimeout(metric: string): void {
    this.#timeouts.add([metric]);
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    const metric = this.#register(
      name,
      () => new Histogram({ name, help, labelNames: [...labelNames], buckets: [...buckets], registers: [] }),
    );
    return new HistogramInstrument(name, metric, labelNames, buckets, this.#guards(name, labelNames));
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
      guarded ? this.#guards(name, labelNames) : undefined,
    );
  }

  gauge(name: string, help: string, labelNames: readonly string[], collect?: () => Promise<void>) {
    const metric = this.#register(name, () =>
      collect
        ? new Gauge({ name, help, labelNames: [...labelNames], registers: [], collect })
        : new Gauge({ name, help, labelNames: [...labelNames], registers: [] }),
    );
    return new GaugeInstrument(name, metric, labelNames, this.#guards(name, labelNames));
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

  #guards(name: string, labelNames: readonly string[]): InstrumentGuards | undefined {
    if (labelNames.length === 0) return undefined;
    const labels = new LabelGuard(
      name,
      labelNames,
      { maxValues: this.maxLabelValues, maxValueLength: this.maxLabelValueLength },
      (metric, label) => this.#overflow.add([metric, label]),
    );
    const series =
      this.maxSeriesPerMetric === Number.POSITIVE_INFINITY
        ? undefined
        : new SeriesGuard(name, this.maxSeriesPerMetric, (metric) => this.#seriesOverflow.add([metric]));
    return { labels, series };
  }
}
