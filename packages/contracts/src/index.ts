export type { ReadOptionsMode } from './caller-input.js';
export {
  fieldsOf,
  isWellFormed,
  readList,
  readOptions,
  readRecord,
  readSignal,
  refuseUnknownFields,
} from './caller-input.js';
export * from './errors.js';
export * from './events.js';
export {
  boundedHealth,
  checkHealth,
  closedHealth,
  HEALTH_TIMEOUT_MS,
  healthError,
  redactHealthMessage,
} from './health-report.js';
export {
  DEFAULT_RETRY_METHODS,
  DEFAULT_RETRY_STATUSES,
  HTTP_METHODS,
  HTTP_REQUEST_FIELDS,
  HTTP_RETRY_FIELDS,
} from './http-defaults.js';
export { describeJobFailure } from './job-failure.js';
export type * from './ports/cache.js';
export type * from './ports/expiring-set.js';
export type * from './ports/health.js';
export type * from './ports/http.js';
export type * from './ports/job-queue.js';
export type * from './ports/key-value.js';
export type * from './ports/lock.js';
export * from './ports/logger.js';
export type * from './ports/metrics.js';
export type * from './ports/rate-limiter.js';
export type * from './ports/storage.js';
export {
  checkObjectSize,
  isPutBody,
  PutBodyReader,
  type PutBodyReaderOptions,
  signalAbortedError,
  throwIfSignalAborted,
} from './put-body.js';
export {
  type CheckedPutOptions,
  checksumDigest,
  DEFAULT_OBJECT_CONTENT_TYPE,
  HEADER_VALUE_PATTERN,
  METADATA_NAME_PATTERN,
  type PutChecksum,
  quietProgress,
  readHeaderOption,
  readObjectMetadata,
  readPutChecksum,
  readPutOptions,
} from './put-options.js';
export {
  type CheckedSignedUrlOptions,
  DEFAULT_SIGNED_URL_EXPIRES_IN_S,
  MAX_SIGNED_URL_EXPIRES_IN_S,
  readSignedUrlOptions,
} from './signed-url-options.js';
export {
  type HttpAttemptTrace,
  type LockAcquireTrace,
  type QueueProcessTrace,
  type QueuePublishTrace,
  type StorageOperationTrace,
  type TraceChannelName,
  TraceChannels,
  type TraceContext,
  type TraceContexts,
  traceChannel,
  traced,
  traceOperation,
} from './trace.js';
export { validate } from './validate.js';
export {
  MAX_METRIC_DESCRIPTION_LENGTH,
  MAX_METRIC_UNIT_LENGTH,
  METRIC_LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  readMetricLabelNames,
  shownMetricName,
  validateMetricBuckets,
  validateMetricDescription,
  validateMetricName,
  validateMetricUnit,
} from './validate-metric.js';
export { MAX_OBJECT_KEY_BYTES, validateObjectKey, validateObjectKeyPrefix } from './validate-object-key.js';
