import type { Metrics } from '@voelgoed/contracts';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { invalidArgument } from './errors.js';
import type { EventContext, Unsubscribe } from './event-context.js';
import { subscribeHttp } from './http-events.js';
import { subscribeLock } from './lock-events.js';
import { DEFAULT_DURATION_BUCKETS, DEFAULT_MAX_LABEL_VALUES, MetricNames } from './metric-names.js';
import { createMetricsHandler, type MetricsRequestHandler } from './metrics-handler.js';
import { type MetricsServer, type ServeOptions, startMetricsServer } from './metrics-server.js';
import { checkBuckets, PREFIX } from './naming.js';
import { InstrumentFactory } from './prom-instruments.js';
import { PromMetrics } from './prom-metrics.js';
import { subscribeRedis } from './redis-events.js';
import { subscribeStorage } from './storage-events.js';

/** Options of prom-client's default process metrics (see prom-client's `collectDefaultMetrics`). */
export interface DefaultMetricsOptions {
  /** Labels added to every default metric. */
  labels?: Record<string, string>;
  /** Buckets of `nodejs_gc_duration_seconds`. */
  gcDurationBuckets?: number[];
  /** Event loop delay sampling precision, ms (default 10). */
  eventLoopMonitoringPrecision?: number;
}

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
  /** Distinct values each label may take before new ones fold into `other`. Default 100. */
  maxLabelValues?: number;
  /** Subscribe to the adapters' diagnostics_channel events. Default `true`. */
  events?: boolean;
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
  /** The text exposition of the registry (what `/metrics` answers). */
  scrape(): Promise<string>;
  /** A `node:http` handler answering with the exposition (mount it at `/metrics`). */
  metricsHandler(): MetricsRequestHandler;
  /** Starts a standalone server answering `GET /metrics`; closed by {@link Telemetry.close}. */
  serve(options: ServeOptions): Promise<MetricsServer>;
  /**
   * Unsubscribes from every channel, stops the servers `serve()` started and removes this
   * instance's metrics from the registry. Idempotent.
   */
  close(): Promise<void>;
}

class PromTelemetry extends PromMetrics implements Telemetry {
  readonly registry: Registry;
  readonly #unsubscribes: Unsubscribe[] = [];
  readonly #servers = new Set<MetricsServer>();
  readonly #defaultMetricNames: string[] = [];
  #closed = false;

  constructor(options: TelemetryOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object');
    const prefix = options.prefix ?? '';
    if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
      throw invalidArgument('prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (or be empty)');
    }
    const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
    checkBuckets(buckets, 'buckets');
    const maxLabelValues = options.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES;
    if (
      typeof maxLabelValues !== 'number' ||
      !(
        maxLabelValues === Number.POSITIVE_INFINITY ||
        (Number.isInteger(maxLabelValues) && maxLabelValues >= 1)
      )
    ) {
      throw invalidArgument('maxLabelValues must be an integer >= 1 (or Infinity)');
    }
    const registry = options.registry ?? new Registry();
    if (
      !(registry instanceof Registry) &&
      typeof (registry as Partial<Registry>)?.registerMetric !== 'function'
    ) {
      throw invalidArgument('registry must be a prom-client Registry');
    }
    const factory = new InstrumentFactory(
      { registry, maxLabelValues },
      { overflow: prefix + MetricNames.labelOverflow, errors: prefix + MetricNames.errors },
    );
    super(factory, { prefix, defaultBuckets: buckets });
    this.registry = registry;

    if (options.defaultMetrics) {
      const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
      const extra = options.defaultMetrics === true ? {} : options.defaultMetrics;
      collectDefaultMetrics({ ...extra, register: registry, prefix });
      for (const metric of registry.getMetricsAsArray()) {
        if (!before.has(metric.name)) this.#defaultMetricNames.push(metric.name);
      }
    }
    if (options.events !== false) {
      const context: EventContext = { factory, buckets, name: (base) => prefix + base };
      this.#unsubscribes.push(
        ...subscribeRedis(context),
        ...subscribeLock(context),
        ...subscribeHttp(context),
        ...subscribeStorage(context),
      );
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  metricsHandler(): MetricsRequestHandler {
    return createMetricsHandler(this.registry);
  }

  async serve(options: ServeOptions): Promise<MetricsServer> {
    if (this.#closed) throw invalidArgument('serve() after close()');
    const server = await startMetricsServer(this.metricsHandler(), options);
    this.#servers.add(server);
    return {
      url: server.url,
      port: server.port,
      close: () => {
        this.#servers.delete(server);
        return server.close();
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    const servers = [...this.#servers];
    this.#servers.clear();
    await Promise.all(servers.map((s) => s.close()));
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
