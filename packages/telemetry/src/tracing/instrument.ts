import { type TracerProvider, trace } from '@opentelemetry/api';
import { fieldsOf, refuseUnknownFields, TraceChannels } from '@voelgoed/contracts';
import packageJson from '../../package.json' with { type: 'json' };
import { invalidArgument, MESSAGE_PREFIX } from '../errors.js';
import { httpAttemptSpans } from './http-spans.js';
import { type LockSpanOptions, lockAcquireSpans } from './lock-spans.js';
import { queueProcessSpans, queuePublishSpans } from './queue-spans.js';
import {
  nodeRedisBatchChannel,
  nodeRedisCommandChannel,
  redisBatchSpans,
  redisCommandSpans,
} from './redis-spans.js';
import { bridgeTraceChannel, bridgeTracingChannel } from './span-bridge.js';
import { storageSpans } from './storage-spans.js';

/** Options of {@link instrumentTracing}. Every adapter is on unless turned off. */
export interface TracingOptions {
  /** Where spans go [the global provider, `trace.getTracerProvider()`]. */
  tracerProvider?: TracerProvider;
  /** Redis command and batch spans from node-redis's tracing channels [true]. */
  redis?: boolean;
  /** HTTP attempt spans, and `traceparent` on every outbound attempt [true]. */
  http?: boolean;
  /** Lock acquire spans [true]; `{ recordResources: true }` adds the resource names. */
  lock?: boolean | LockSpanOptions;
  /** Object storage spans [true]. */
  storage?: boolean;
  /**
   * Job queue spans [true]: a PRODUCER span per enqueue whose context travels with the jobs, a
   * CONSUMER span per handler run linked to it.
   */
  queue?: boolean;
}

const TRACING_FIELDS = fieldsOf<TracingOptions>()([
  'tracerProvider',
  'redis',
  'http',
  'lock',
  'storage',
  'queue',
]);
const LOCK_SPAN_FIELDS = fieldsOf<LockSpanOptions>()(['recordResources']);

/**
 * `INVALID_ARGUMENT` for options that are not an object, a field they do not have (`reds: false`
 * would leave Redis spans on), or a switch that is not a boolean (`redis: 'off'` is on).
 */
function checkTracingOptions(options: TracingOptions): void {
  if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
  refuseUnknownFields(options, TRACING_FIELDS, 'tracing options', MESSAGE_PREFIX);
  for (const name of ['redis', 'http', 'storage', 'queue'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'boolean') throw invalidArgument(`${name} must be a boolean`);
  }
  const { lock } = options;
  if (typeof lock === 'object' && lock !== null) {
    refuseUnknownFields(lock, LOCK_SPAN_FIELDS, 'tracing options: lock', MESSAGE_PREFIX);
    if (lock.recordResources !== undefined && typeof lock.recordResources !== 'boolean')
      throw invalidArgument('lock.recordResources must be a boolean');
  } else if (lock !== undefined && typeof lock !== 'boolean') {
    throw invalidArgument('lock must be a boolean or { recordResources }');
  }
}

/** What {@link instrumentTracing} returns. */
export interface TracingInstrumentation {
  /** Unsubscribes: no span is made after it. Idempotent. */
  stop(): void;
}

/** The one live instrumentation of the process, shared by every copy of this package (ESM and CJS). */
const ACTIVE = Symbol.for('@voelgoed/telemetry/tracing');
type Holder = { [ACTIVE]?: { stop(): void } };

/**
 * Turns the adapters' trace channels into OpenTelemetry spans through `@opentelemetry/api`
 * (a peer: bring the SDK of your choice and register it, or pass `tracerProvider`). Spans are
 * children of the active context. A second call replaces the first (never two spans for one
 * operation); `stop()` of the replaced one then does nothing.
 */
export function instrumentTracing(options: TracingOptions = {}): TracingInstrumentation {
  checkTracingOptions(options);
  const holder = globalThis as Holder;
  holder[ACTIVE]?.stop();
  const provider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer = provider.getTracer(packageJson.name, packageJson.version);
  const offs: Array<() => void> = [];
  if (options.redis !== false) {
    offs.push(bridgeTracingChannel(nodeRedisCommandChannel(), tracer, redisCommandSpans));
    offs.push(bridgeTracingChannel(nodeRedisBatchChannel(), tracer, redisBatchSpans));
  }
  if (options.http !== false)
    offs.push(bridgeTraceChannel(TraceChannels.httpAttempt, tracer, httpAttemptSpans));
  if (options.lock !== false) {
    const lockOptions = typeof options.lock === 'object' ? options.lock : {};
    offs.push(bridgeTraceChannel(TraceChannels.lockAcquire, tracer, lockAcquireSpans(lockOptions)));
  }
  if (options.storage !== false) {
    offs.push(bridgeTraceChannel(TraceChannels.storageOperation, tracer, storageSpans));
  }
  if (options.queue !== false) {
    offs.push(bridgeTraceChannel(TraceChannels.queuePublish, tracer, queuePublishSpans));
    offs.push(bridgeTraceChannel(TraceChannels.queueProcess, tracer, queueProcessSpans));
  }
  let stopped = false;
  const instrumentation = {
    stop() {
      if (stopped) return;
      stopped = true;
      for (const off of offs.splice(0)) off();
      if (holder[ACTIVE] === instrumentation) delete holder[ACTIVE];
    },
  };
  holder[ACTIVE] = instrumentation;
  return instrumentation;
}
