// Conformance suites for every port (filled in by the conformance work).

export {
  type DistributedLockConformanceOptions,
  describeDistributedLock,
  distributedLockChecks,
} from './conformance/distributed-lock.js';
export {
  describeHttpClient,
  type HttpClientConformanceOptions,
  type HttpConformanceContext,
  type HttpConformanceTarget,
  httpClientChecks,
} from './conformance/http-client.js';
export {
  CONFORMANCE_JSON,
  type ConformanceHttpHandler,
  type ConformanceHttpRequest,
  type ConformanceHttpResponse,
  type ConformanceHttpServer,
  createConformanceHttpHandler,
  largeBody,
  startConformanceHttpServer,
} from './conformance/http-conformance-server.js';
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
export {
  describeObjectStorage,
  type ObjectStorageConformanceOptions,
  objectStorageChecks,
  type SignedUrlFetchInit,
} from './conformance/object-storage.js';
export * from './conformance/shared.js';
