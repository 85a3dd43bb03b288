export {
  ConnectionError,
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  TimeoutError,
} from '@voelgoed/contracts';
export type { DefaultMetricsOptions } from './default-metrics.js';
export type { TelemetryErrorCode } from './errors.js';
export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
  type ShutdownOutcome,
  type ShutdownResult,
  type ShutdownTarget,
} from './graceful-shutdown.js';
export { CIRCUIT_STATE_VALUES } from './http-events.js';
export { OTHER } from './label-guard.js';
export {
  ATTEMPT_BUCKETS,
  DEFAULT_CALLBACK_TIMEOUT_MS,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  DEFAULT_MAX_LABEL_VALUES,
  DEFAULT_MAX_SERIES_PER_METRIC,
  DEFAULT_SCRAPE_TIMEOUT_MS,
  MetricNames,
} from './metric-names.js';
export {
  createMetricsHandler,
  type MetricsHandlerOptions,
  type MetricsRequestHandler,
} from './metrics-handler.js';
export type { MetricsServer, ServeOptions } from './metrics-server.js';
export { prometheusName, unitSuffix } from './naming.js';
export { createNoopMetrics, NoopMetrics } from './noop-metrics.js';
export { checkReadiness, type ReadinessReport } from './readiness.js';
export {
  createTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry.js';
