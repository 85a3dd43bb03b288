// In-memory implementations of every port, for tests of the code that uses them.
export { type Clock, ManualClock, systemClock } from './memory/clock.js';
export {
  FakeHttpClient,
  type FakeHttpClientOptions,
  type FakeHttpHandler,
  type FakeHttpRequest,
  type FakeHttpResponseInit,
} from './memory/fake-http-client.js';
export { MemoryCache, type MemoryCacheOptions } from './memory/memory-cache.js';
export { MemoryExpiringSet, type MemoryExpiringSetOptions } from './memory/memory-expiring-set.js';
export { MemoryJobQueue, type MemoryJobQueueOptions } from './memory/memory-job-queue.js';
export { MemoryKeyValueStore, type MemoryKeyValueStoreOptions } from './memory/memory-key-value-store.js';
export { MemoryLock, type MemoryLockOptions } from './memory/memory-lock.js';
export {
  type HistogramSnapshot,
  type InstrumentKind,
  MemoryMetrics,
  type MetricSeries,
} from './memory/memory-metrics.js';
export {
  MemoryObjectStorage,
  type MemoryObjectStorageOptions,
  type SignedFetchInit,
  type SignedFetchResponse,
} from './memory/memory-object-storage.js';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory/memory-rate-limiter.js';
