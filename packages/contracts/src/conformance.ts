// Conformance suites for every port: each implementation, real or in-memory, runs the same suite.

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
export { type CacheConformanceOptions, cacheChecks, describeCache } from './conformance/cache.js';
export { cacheBadInputCheck } from './conformance/cache-bad-input.js';
export {
  type DistributedLockConformanceOptions,
  describeDistributedLock,
  distributedLockChecks,
} from './conformance/distributed-lock.js';
export { distributedLockBadInputCheck } from './conformance/distributed-lock-bad-input.js';
export {
  describeExpiringSet,
  type ExpiringSetConformanceOptions,
  expiringSetChecks,
} from './conformance/expiring-set.js';
export { expiringSetBadInputCheck } from './conformance/expiring-set-bad-input.js';
export {
  describeHttpClient,
  type HttpClientConformanceOptions,
  type HttpConformanceContext,
  type HttpConformanceTarget,
  httpClientChecks,
} from './conformance/http-client.js';
export { httpClientBadInputCheck } from './conformance/http-client-bad-input.js';
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
  describeJobQueue,
  type JobQueueConformanceOptions,
  jobQueueChecks,
} from './conformance/job-queue.js';
export { jobQueueBadInputCheck } from './conformance/job-queue-bad-input.js';
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
export { lifecycleChecks } from './conformance/lifecycle.js';
export {
  describeMetrics,
  type MetricReading,
  type MetricsConformanceOptions,
  type MetricsHarness,
  memoryMetricsHarness,
  metricsChecks,
} from './conformance/metrics.js';
export { metricsBadInputCheck } from './conformance/metrics-bad-input.js';
export {
  describeObjectStorage,
  type ObjectStorageConformanceOptions,
  objectStorageChecks,
  type SignedUrlFetchInit,
} from './conformance/object-storage.js';
export {
  type ObjectStorageBadInputOptions,
  objectStorageBadInputCheck,
} from './conformance/object-storage-bad-input.js';
export {
  describeRateLimiter,
  type RateLimiterConformanceOptions,
  type RateLimiterMaker,
  rateLimiterChecks,
} from './conformance/rate-limiter.js';
export { rateLimiterBadInputCheck } from './conformance/rate-limiter-bad-input.js';
export { formatSeed, SeededRandom } from './conformance/seeded-random.js';
export * from './conformance/shared.js';
