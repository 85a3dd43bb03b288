import { type TracerProvider, trace } from '@opentelemetry/api';
import { TraceChannels } from '@voelgoed/contracts';
import packageJson from '../../package.json' with { type: 'json' };
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
