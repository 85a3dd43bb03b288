import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import type { StorageOperationEvent } from './events.js';

/**
 * Trace channels: `node:diagnostics_channel` tracing channels (`tracing:<name>:start`, `end`,
 * `asyncStart`, `asyncEnd`, `error`, as `TracingChannel.tracePromise` publishes them) around
 * each adapter operation a span is made of. The start event fires synchronously in the caller's
 * async context, so a subscriber that opens a span there parents it to the caller's active span.
 * Adapters fill an operation's result fields into the same context object before it settles;
 * `error` carries the rejection. Nothing is built or published when nobody subscribes.
 *
 * Redis commands are not here: the Redis client publishes node-redis's own tracing channels
 * (`node-redis:command`, `node-redis:batch`, `node-redis:connect`) on every deployment.
 */
export const TraceChannels = {
  /** One per HTTP attempt (a retry is another attempt). */
  httpAttempt: 'voelgoed:http:attempt',
  /** One per lock acquire, from the call to held or given up. */
  lockAcquire: 'voelgoed:lock:acquire',
  /** One per object storage operation. */
  storageOperation: 'voelgoed:storage:operation',
  /** One per enqueue call (one job or a batch). */
  queuePublish: 'voelgoed:queue:publish',
  /** One per delivery of a job to a handler, around the handler. */
  queueProcess: 'voelgoed:queue:process',
} as const;

export type TraceChannelName = (typeof TraceChannels)[keyof typeof TraceChannels];

/** Fields every trace context has. */
export interface TraceContext {
  /**
   * Set by a subscriber at `start`: runs the operation's own work inside the subscriber's context
   * (its span active), so that what the operation calls (Redis commands, HTTP attempts) becomes
   * its child. Adapters call their work through it when present.
   */
  enter?: <T>(fn: () => T) => T;
  /** Set by `tracePromise` when the operation rejects. */
  error?: unknown;
}

/** `voelgoed:http:attempt`: one physical request. */
export interface HttpAttemptTrace extends TraceContext {
  method: string;
  /** `scheme://host:port/path`: never the query string, the fragment or credentials. */
  url: string;
  serverAddress: string;
  serverPort: number;
  /** A route template the caller named (e.g. `/orders/:id`), when there is one. */
  route?: string;
  /** 1 for the first attempt; `http.request.resend_count` is `attempt - 1`. */
  attempt: number;
  /**
   * Headers this attempt sends besides the caller's: a subscriber writes propagation fields
   * (`traceparent`, `tracestate`) here at `start`, and the adapter sends them.
   */
  headers: Record<string, string>;
  /** Filled by the adapter: the response status, when one arrived. */
  status?: number;
  /** Filled by the adapter when the attempt failed: the error's `code`. */
  errorCode?: string;
}

/** `voelgoed:lock:acquire`. */
export interface LockAcquireTrace extends TraceContext {
  resources: readonly string[];
  ttlMs: number;
  /** How many Redis masters the lock spans. */
  nodes: number;
  /** Filled by the adapter. */
  attempts?: number;
  fencingTokens?: readonly number[];
  outcome?: 'acquired' | 'timeout' | 'error';
  /** For `timeout`: contention, quorum, validity or aborted. */
  reason?: string;
  errorCode?: string;
}

/** `voelgoed:storage:operation`. */
export interface StorageOperationTrace extends TraceContext {
  operation: StorageOperationEvent['operation'];
  /** `s3`, `fs`, `memory`. */
  driver: string;
  /** Bucket or root name. */
  bucket?: string;
  /** The object key (the target key for `copy`, the prefix for `list`); never a signed URL. */
  key?: string;
  /** `copy` only: the source key. */
  sourceKey?: string;
  /** `deleteMany` only: how many keys the call names. */
  keyCount?: number;
  /** The S3 endpoint's host and port (S3 driver only). */
  serverAddress?: string;
  serverPort?: number;
  /**
   * Filled by the adapter: bytes moved, when known (for `get` and `getRange`, the body's length
   * as announced when the stream is handed over).
   */
  bytes?: number;
  errorCode?: string;
}

/** `voelgoed:queue:publish`. */
export interface QueuePublishTrace extends TraceContext {
  queue: string;
  /** Jobs in this call (1 for `enqueue`; for `enqueueMany`, filled once the input was read). */
  count: number;
  /** True for `enqueueMany` (whatever its size). */
  batch?: boolean;
  /** `enqueue`: the job's id (given or made), filled once the input was read. */
  jobId?: string;
  /**
   * Propagation fields a subscriber writes at `start` (`traceparent`, `tracestate`); the queue
   * stores them with every job of the call and hands them back at delivery.
   */
  carrier: Record<string, string>;
  errorCode?: string;
}

/** `voelgoed:queue:process`: around one handler run. */
export interface QueueProcessTrace extends TraceContext {
  queue: string;
  jobId: string;
  attempt: number;
  deliveryToken: number;
  /** The producer's propagation fields as stored with the job; empty when it had none. */
  carrier: Readonly<Record<string, string>>;
  /** Filled by the queue after the handler settles. */
  outcome?: 'completed' | 'retried' | 'dead_lettered' | 'lease_lost' | 'failed';
  errorCode?: string;
}

/** Context type of each trace channel. */
export interface TraceContexts {
  'voelgoed:http:attempt': HttpAttemptTrace;
  'voelgoed:lock:acquire': LockAcquireTrace;
  'voelgoed:storage:operation': StorageOperationTrace;
  'voelgoed:queue:publish': QueuePublishTrace;
  'voelgoed:queue:process': QueueProcessTrace;
}

/** A tracing channel for one of `TraceChannels`; process-wide, like every diagnostics channel. */
export function traceChannel<N extends TraceChannelName>(name: N): TracingChannel<object, TraceContexts[N]> {
  return tracingChannel(name) as TracingChannel<object, TraceContexts[N]>;
}

/**
 * Traces an operation that is not one promise (an async iteration such as `list`): when someone
 * subscribes, `build()` makes the context and start fires now, in the caller's context; call
 * `settle(error?)` once when the operation ends. Undefined when nobody subscribes. The
 * operation's work does not run through `enter`.
 */
export function traceOperation<C extends TraceContext>(
  channel: TracingChannel<object, C>,
  build: () => C,
): { context: C; settle(error?: unknown): void } | undefined {
  if (!channel.hasSubscribers) return undefined;
  const context = build();
  channel.start.publish(context);
  channel.end.publish(context);
  let settled = false;
  return {
    context,
    settle(error?: unknown) {
      if (settled) return;
      settled = true;
      if (error !== undefined) {
        context.error = error;
        channel.error.publish(context);
      }
      channel.asyncStart.publish(context);
      channel.asyncEnd.publish(context);
    },
  };
}

/**
 * Runs `fn` as a traced operation on `channel`: when someone subscribes, `build()` makes the
 * context, start fires here (in the caller's context), `fn` runs through the subscriber's
 * `enter` when it set one, and the outcome is published. Otherwise `fn` just runs.
 * `fn` receives the context (undefined when nobody subscribes) to fill in result fields.
 */
export function traced<C extends TraceContext, T>(
  channel: TracingChannel<object, C>,
  build: () => C,
  fn: (context: C | undefined) => Promise<T>,
): Promise<T> {
  if (!channel.hasSubscribers) return fn(undefined);
  const context = build();
  return channel.tracePromise(
    () => (context.enter ? context.enter(() => fn(context)) : fn(context)),
    context,
  );
}
