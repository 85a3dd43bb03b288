// Conformance suites for every port (filled in by the conformance work).

export {
  type BadInputCall,
  BadInputFailure,
  type BadInputOptions,
  type CallOutcome,
  checkCall,
  describeError,
  isAbortedSignal,
  isShortTtl,
  type JunkRunContext,
  onlyInvalidArgument,
  resolveBadInputOptions,
  runJunkRuns,
} from './conformance/bad-input.js';
export {
  type DistributedLockConformanceOptions,
  describeDistributedLock,
  distributedLockChecks,
} from './conformance/distributed-lock.js';
export { distributedLockBadInputCheck } from './conformance/distributed-lock-bad-input.js';
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
  isJunkError,
  JUNK_KINDS,
  type Junk,
  JunkError,
  JunkGenerator,
  type JunkKind,
} from './conformance/junk.js';
export {
  describeKeyValueStore,
  type KeyValueStoreConformanceOptions,
  keyValueStoreChecks,
} from './conformance/key-value-store.js';
export { keyValueStoreBadInputCheck } from './conformance/key-value-store-bad-input.js';
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
export { formatSeed, SeededRandom } from './conformance/seeded-random.js';
export * from './conformance/shared.js';
