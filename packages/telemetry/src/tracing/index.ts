export { httpAttemptSpans } from './http-spans.js';
export { instrumentTracing, type TracingInstrumentation, type TracingOptions } from './instrument.js';
export { type LockSpanOptions, lockAcquireSpans } from './lock-spans.js';
export { queueProcessSpans, queuePublishSpans } from './queue-spans.js';
export {
  type NodeRedisBatchTrace,
  NodeRedisChannels,
  type NodeRedisCommandTrace,
  redisBatchSpans,
  redisCommandSpans,
} from './redis-spans.js';
export {
  bridgeTraceChannel,
  bridgeTracingChannel,
  errorType,
  type SpanMapping,
  type SpanSpec,
} from './span-bridge.js';
export { storageSpans } from './storage-spans.js';
