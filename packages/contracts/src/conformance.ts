// Conformance suites for every port (filled in by the conformance work).

export {
  type DistributedLockConformanceOptions,
  describeDistributedLock,
  distributedLockChecks,
} from './conformance/distributed-lock.js';
export {
  describeKeyValueStore,
  type KeyValueStoreConformanceOptions,
  keyValueStoreChecks,
} from './conformance/key-value-store.js';
export {
  describeMetrics,
  type MetricReading,
  type MetricsConformanceOptions,
  type MetricsHarness,
  memoryMetricsHarness,
  metricsChecks,
} from './conformance/metrics.js';
export * from './conformance/shared.js';
