import {
  fieldsOf,
  type JobQueue,
  type Logger,
  type Metrics,
  type Resource,
  readLogger,
  refuseUnknownFields,
} from '@voelgoed/contracts';
import { Registry } from 'prom-client';
import { collectExposition } from './collect-exposition.js';
import { type DefaultMetricsOptions, readDefaultMetrics, registerDefaultMetrics } from './default-metrics.js';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import type { EventContext, Unsubscribe } from './event-context.js';
import { subscribeHttp } from './http-events.js';
import { subscribeLock } from './lock-events.js';
import {
  DEFAULT_CALLBACK_TIMEOUT_MS,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  DEFAULT_MAX_LABEL_VALUES,
  DEFAULT_MAX_SERIES_PER_METRIC,
  DEFAULT_SCRAPE_TIMEOUT_MS,
  MAX_TIMER_MS,
  MetricNames,
} from './metric-names.js';
import { createMetricsHandler, type MetricsRequestHandler, timeoutOption } from './metrics-handler.js';
import { type MetricsServer, type ServeOptions, startMetricsServer } from './metrics-server.js';
import { checkBuckets, PREFIX } from './naming.js';
import { InstrumentFactory } from './prom-instruments.js';
import { PromMetrics } from './prom-metrics.js';
import { subscribeQueue } from './queue-events.js';
import { JobQueueGauges } from './queue-gauges.js';
import { checkReadiness, ReadinessRegistry, type ReadinessReport } from './readiness.js';
import { subscribeRedis } from './redis-events.js';
import { subscribeStorage } from './storage-events.js';

/** Options of {@link createTelemetry}. */
export interface TelemetryOptions {
  /** The prom-client registry to register on. Default: a new one (not prom-client's global). */
  registry?: Registry;
  /** Prepended to every metric name this instance registers (default metrics too). Default `''`. */
  prefix?: string;
  /** Buckets (seconds) of every duration histogram, and of port histograms without a hint. */
  buckets?: readonly number[];
  /** Also collect prom-client's default process metrics (CPU, memory, event loop, GC). Default `false`. */
  defaultMetrics?: boolean | DefaultMetricsOptions;
  /** Distinct values each label may take before new ones fold into `__other__`. Default 100. */
  maxLabelValues?: number;
  /**
   * Distinct label sets (series) each metric may have; past it, new label sets are recorded in
   * the metric's one overflow series (every label `__other__`). Default 2000.
   */
  maxSeriesPerMetric?: number;
  /** Longest label value (UTF-16 code units) kept; longer ones fold into `__other__`. Default 256. */
  maxLabelValueLength?: number;
  /** Time box (ms) of each observable callback at a scrape. Default 1000. */
  callbackTimeoutMs?: number;
  /**
   * Deadline (ms) of a whole scrape, for collectors registered on the registry by others:
   * `scrape()` rejects with `TIMEOUT` and `/metrics` answers 503 past it. Must be greater than
   * `callbackTimeoutMs`. Default 10,000 (or twice `callbackTimeoutMs` if that is more).
   */
  scrapeTimeoutMs?: number;
  /** Subscribe to the adapters' diagnostics_channel events. Default `true`. */
  events?: boolean;
  /**
   * Where to log an observable callback that failed (warn, with its error code) or outlived
   * `callbackTimeoutMs` at a scrape (warn), at most once a minute per metric. Default: nothing.
   */
  logger?: Logger;
}

/**
 * Prometheus metrics for a process: the contracts' `Metrics` port (for business code), every
 * Voelgoed adapter's events turned into metrics, and a way to serve them.
 */
export interface Telemetry extends Metrics {
  /** The registry holding every metric. */
  readonly registry: Registry;
  /** `Content-Type` of {@link Telemetry.scrape}'s text. */
  readonly contentType: string;
  /** The Prometheus name of the port instrument `name` (`shop.orders` → `shop_orders_total`). */
  metricName(name: string): string | undefined;
  /**
   * The text exposition of the registry (what `/metrics` answers). Rejects with `TimeoutError`
   * past `scrapeTimeoutMs` (only a collector registered by others can take that long).
   */
  scrape(): Promise<string>;
  /** A `node:http` handler answering with the exposition (mount it at `/metrics`). */
  metricsHandler(): MetricsRequestHandler;
  /**
   * Starts a standalone server answering `GET /metrics`, `/healthz` (200 while the process
   * serves) and `/readyz` (the registered resources' health, and `options.resources`': 200 when
   * all are up or degraded, 503 otherwise, JSON); closed by {@link Telemetry.close}.
   */
  serve(options: ServeOptions): Promise<MetricsServer>;
  /**
   * Shows these job queues' depth (`voelgoed_queue_depth{queue,state}`) and oldest-waiting age
   * (`voelgoed_queue_oldest_waiting_seconds{queue}`), read through `counts()` at each scrape,
   * each call time-boxed by `callbackTimeoutMs`: a queue whose call fails or does not answer in
   * time shows no samples in that scrape and is counted in
   * `voelgoed_queue_observe_errors_total{queue,error_type}`; the scrape still answers. Observing
   * a queue already observed does nothing; another queue object of the same name is
   * `INVALID_ARGUMENT`. Returns a function that stops observing the queues this call added.
   */
  observeJobQueues(queues: readonly JobQueue[]): () => void;
  /**
   * Registers a resource (a Redis client, lock, HTTP client, storage, queue: anything with
   * `health()`) whose health `/readyz` aggregates on every server `serve()` starts. Returns a
   * function that removes it. Adding one twice keeps one entry.
   */
  addReadinessCheck(resource: Resource): () => void;
  /** The aggregated health of the registered resources, as `/readyz` answers it. Never rejects. */
  readiness(): Promise<ReadinessReport>;
  /**
   * Unsubscribes from every channel, stops the servers `serve()` started and removes this
   * instance's metrics from the registry. Idempotent.
   */
  close(): Promise<void>;
}

/** `value` (or `fallback` when undefined) if it is an integer >= 1 or Infinity; else INVALID_ARGUMENT. */
function limit(value: unknown, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (
    typeof chosen !== 'number' ||
    !(chosen === Number.POSITIVE_INFINITY || (Number.isInteger(chosen) && chosen >= 1))
  ) {
    throw invalidArgument(`${name} must be an integer >= 1 (or Infinity)`);
  }
  return chosen;
}

/** {@link TelemetryOptions} checked, with their defaults. */
interface TelemetrySettings {
  prefix: string;
  buckets: readonly number[];
  maxLabelValues: number;
  maxSeriesPerMetric: number;
  maxLabelValueLength: number;
  callbackTimeoutMs: number;
  scrapeTimeoutMs: number;
  defaultMetrics: DefaultMetricsOptions | undefined;
  registry: Registry;
}

/** The fields of {@link TelemetryOptions}: any other is refused (prom-client's `labels`, a typo). */
const TELEMETRY_FIELDS = fieldsOf<TelemetryOptions>()([
  'registry',
  'prefix',
  'buckets',
  'defaultMetrics',
  'maxLabelValues',
  'maxSeriesPerMetric',
  'maxLabelValueLength',
  'callbackTimeoutMs',
  'scrapeTimeoutMs',
  'events',
  'logger',
]);

/** Checks the options (in this order: the first bad one is reported) and fills in the defaults. */
function readTelemetryOptions(options: TelemetryOptions): TelemetrySettings {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object');
  refuseUnknownFields(options, TELEMETRY_FIELDS, 'options', MESSAGE_PREFIX);
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw invalidArgument('prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)');
  }
  const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
  checkBuckets(buckets, 'buckets');
  return {
    prefix,
    buckets,
    maxLabelValues: limit(options.maxLabelValues, DEFAULT_MAX_LABEL_VALUES, 'maxLabelValues'),
    maxSeriesPerMetric: limit(
      options.maxSeriesPerMetric,
      DEFAULT_MAX_SERIES_PER_METRIC,
      'maxSeriesPerMetric',
    ),
    maxLabelValueLength: limit(
      options.maxLabelValueLength,
      DEFAULT_MAX_LABEL_VALUE_LENGTH,
      'maxLabelValueLength',
    ),
    ...readTimeouts(options),
    defaultMetrics: readDefaultMetrics(options.defaultMetrics),
    registry: readRegistry(options.registry),
  };
}

/** The callbacks' time box and the scrape deadline (which must be longer when given). */
function readTimeouts(options: TelemetryOptions): { callbackTimeoutMs: number; scrapeTimeoutMs: number } {
  const callbackTimeoutMs = timeoutOption(
    options.callbackTimeoutMs,
    DEFAULT_CALLBACK_TIMEOUT_MS,
    'callbackTimeoutMs',
  );
  const scrapeTimeoutMs = timeoutOption(
    options.scrapeTimeoutMs,
    Math.min(MAX_TIMER_MS, Math.max(DEFAULT_SCRAPE_TIMEOUT_MS, 2 * callbackTimeoutMs)),
    'scrapeTimeoutMs',
  );
  if (options.scrapeTimeoutMs !== undefined && scrapeTimeoutMs <= callbackTimeoutMs) {
    throw invalidArgument('scrapeTimeoutMs must be greater than callbackTimeoutMs');
  }
  return { callbackTimeoutMs, scrapeTimeoutMs };
}

/** The given prom-client registry (or one from another copy of prom-client), else a new one. */
function readRegistry(given: Registry | undefined): Registry {
  const registry = given ?? new Registry();
  if (
    !(registry instanceof Registry) &&
    typeof (registry as Partial<Registry>)?.registerMetric !== 'function'
  ) {
    throw invalidArgument('registry must be a prom-client Registry');
  }
  return registry;
}

/** The factory of every instrument, with the guards' limits and the names of its own metrics. */
function newInstrumentFactory(settings: TelemetrySettings): InstrumentFactory {
  const { registry, prefix, maxLabelValues, maxSeriesPerMetric, maxLabelValueLength } = settings;
  return new InstrumentFactory(
    { registry, maxLabelValues, maxSeriesPerMetric, maxLabelValueLength },
    {
      overflow: prefix + MetricNames.labelOverflow,
      seriesOverflow: prefix + MetricNames.seriesOverflow,
      errors: prefix + MetricNames.errors,
      timeouts: prefix + MetricNames.callbackTimeouts,
    },
  );
}

class PromTelemetry extends PromMetrics implements Telemetry {
  readonly registry: Registry;
  readonly #scrapeTimeoutMs: number;
  readonly #unsubscribes: Unsubscribe[] = [];
  readonly #servers = new Set<MetricsServer>();
  readonly #defaultMetricNames: string[] = [];
  #queueGauges: JobQueueGauges | undefined;
  #closed = false;
  readonly #readiness = new ReadinessRegistry();

  constructor(options: TelemetryOptions) {
    const settings = readTelemetryOptions(options);
    const { registry, prefix, buckets } = settings;
    const factory = newInstrumentFactory(settings);
    const logger = readLogger(options.logger, MESSAGE_PREFIX);
    super(factory, {
      prefix,
      defaultBuckets: buckets,
      callbackTimeoutMs: settings.callbackTimeoutMs,
      logger,
    });
    this.registry = registry;
    this.#scrapeTimeoutMs = settings.scrapeTimeoutMs;
    try {
      if (settings.defaultMetrics) {
        registerDefaultMetrics(registry, settings.defaultMetrics, prefix, this.#defaultMetricNames);
      }
      if (options.events !== false)
        this.#subscribeEvents({ factory, buckets, name: (base) => prefix + base });
    } catch (error) {
      // A name clash halfway (the caller's registry already has one of ours): nothing of this
      // telemetry stays behind, neither metrics on the registry nor subscriptions.
      this.#release();
      throw error;
    }
  }

  /** Every adapter's events turned into metrics. */
  #subscribeEvents(context: EventContext): void {
    // One at a time, so a clash in a later one leaves the earlier ones' subscriptions to undo.
    for (const subscribe of [
      subscribeRedis,
      subscribeLock,
      subscribeHttp,
      subscribeStorage,
      subscribeQueue,
    ]) {
      this.#unsubscribes.push(...subscribe(context));
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  scrape(): Promise<string> {
    return collectExposition(this.registry, this.#scrapeTimeoutMs);
  }

  metricsHandler(): MetricsRequestHandler {
    return createMetricsHandler(this.registry, { timeoutMs: this.#scrapeTimeoutMs });
  }

  async serve(options: ServeOptions): Promise<MetricsServer> {
    if (this.#closed) throw invalidArgument('serve() after close()');
    const server = await startMetricsServer(this.metricsHandler(), options, () =>
      checkReadiness([...this.#readiness.resources, ...(options.resources ?? [])]),
    );
    this.#servers.add(server);
    return {
      url: server.url,
      port: server.port,
      healthzUrl: server.healthzUrl,
      readyzUrl: server.readyzUrl,
      close: () => {
        this.#servers.delete(server);
        return server.close();
      },
    };
  }

  addReadinessCheck(resource: Resource): () => void {
    return this.#readiness.add(resource);
  }

  readiness(): Promise<ReadinessReport> {
    return checkReadiness(this.#readiness.resources);
  }

  observeJobQueues(queues: readonly JobQueue[]): () => void {
    if (this.#closed) throw invalidArgument('observeJobQueues() after close()');
    if (this.#queueGauges === undefined) {
      // Registered at the first call, so a process that observes no queue shows no empty gauges.
      const name = (base: string) => this.options.prefix + base;
      this.#queueGauges = new JobQueueGauges(
        this.factory,
        {
          jobs: name(MetricNames.queueDepth),
          oldestWaiting: name(MetricNames.queueOldestWaiting),
          errors: name(MetricNames.queueObserveErrors),
        },
        this.options.callbackTimeoutMs,
      );
    }
    return this.#queueGauges.observe(queues);
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queueGauges?.clear();
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    await super.close();
    const servers = [...this.#servers];
    this.#servers.clear();
    await Promise.all(servers.map((s) => s.close()));
    this.#release();
  }

  /** Undoes what the constructor set up: its subscriptions, and its metrics on the registry. */
  #release(): void {
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    this.factory.unregisterAll(this.#defaultMetricNames);
  }
}

/**
 * Creates the telemetry of a process: one call, and the registry shows metrics from every
 * Voelgoed adapter in the process (they publish on `diagnostics_channel`; this subscribes).
 *
 * @example
 * const telemetry = createTelemetry({ defaultMetrics: true });
 * const server = await telemetry.serve({ port: 9464 });
 * const orders = telemetry.counter('shop.orders', { labelNames: ['status'] });
 * orders.add(1, { status: 'paid' }); // shop_orders_total{status="paid"} 1
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  return new PromTelemetry(options);
}
