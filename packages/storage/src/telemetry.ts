import {
  Channels,
  createPublisher,
  errorCodeOf,
  type StorageOperationEvent,
  type StorageOperationTrace,
  TraceChannels,
  traceChannel,
  traced,
  traceOperation,
} from '@voelgoed/contracts';

const publisher = createPublisher(Channels.storageOperation);
const tracing = traceChannel(TraceChannels.storageOperation);

type Operation = StorageOperationEvent['operation'];

/** Where events come from: the driver name and its bucket or root name (never keys). */
export interface EventSource {
  driver: string;
  bucket?: string | undefined;
  /** The endpoint's host and port, for spans (S3 only). */
  serverAddress?: string | undefined;
  serverPort?: number | undefined;
}

/** What a span names besides the driver: the key (or prefix), a copy's source, a batch's size. */
export interface TraceTarget {
  key?: unknown;
  sourceKey?: unknown;
  /** `deleteMany`'s key list, as the caller passed it (only its length is read). */
  keys?: unknown;
}

/**
 * Runs `fn` and publishes one `voelgoed:storage:operation` event when it settles (nothing is
 * built when no one subscribes). `bytesOf` tells the bytes moved from the result.
 */
export function instrument<T>(
  source: EventSource,
  operation: Operation,
  fn: () => Promise<T>,
  bytesOf?: (result: T) => number | undefined,
  target?: TraceTarget,
): Promise<T> {
  if (!tracing.hasSubscribers) {
    // Nobody listens at all: no async wrapper (its promise adopting fn's cost a few microtask
    // turns per operation).
    return publisher.enabled ? measured(source, operation, fn, bytesOf) : fn();
  }
  return tracedOperation(source, operation, fn, bytesOf, target);
}

/**
 * The operation on `voelgoed:storage:operation`'s trace channel. The traced promise resolves
 * to nothing: the result (a signed URL, a body stream) stays out of the trace context.
 */
async function tracedOperation<T>(
  source: EventSource,
  operation: Operation,
  fn: () => Promise<T>,
  bytesOf: ((result: T) => number | undefined) | undefined,
  target: TraceTarget | undefined,
): Promise<T> {
  let result: T;
  await traced(
    tracing,
    () => traceContext(source, operation, target),
    async (ctx) => {
      try {
        result = await measured(source, operation, fn, bytesOf);
      } catch (error) {
        if (ctx) ctx.errorCode = errorCodeOf(error);
        throw error;
      }
      const bytes = bytesOf?.(result);
      if (ctx && bytes !== undefined) ctx.bytes = bytes;
    },
  );
  // biome-ignore lint/style/noNonNullAssertion: traced() resolves only after the callback assigned result (it rejects otherwise)
  return result!;
}

/** The trace context of one operation: only string keys (bad input is the operation's to reject). */
function traceContext(source: EventSource, operation: Operation, target: TraceTarget | undefined) {
  const ctx: StorageOperationTrace = { operation, driver: source.driver };
  if (source.bucket !== undefined) ctx.bucket = source.bucket;
  if (source.serverAddress !== undefined) ctx.serverAddress = source.serverAddress;
  if (source.serverPort !== undefined) ctx.serverPort = source.serverPort;
  if (typeof target?.key === 'string') ctx.key = target.key;
  if (typeof target?.sourceKey === 'string') ctx.sourceKey = target.sourceKey;
  if (target?.keys !== undefined) {
    try {
      if (Array.isArray(target.keys)) ctx.keyCount = target.keys.length;
    } catch {
      // A hostile list (a Proxy): the operation rejects it, the span just has no count.
    }
  }
  return ctx;
}

/**
 * Starts the trace of a `list` iteration (in the caller's context); undefined when nobody
 * subscribes. Settle it once when the iteration ends.
 */
export function traceList(source: EventSource, prefix: unknown) {
  return traceOperation(tracing, () => traceContext(source, 'list', { key: prefix }));
}

async function measured<T>(
  source: EventSource,
  operation: Operation,
  fn: () => Promise<T>,
  bytesOf?: (result: T) => number | undefined,
): Promise<T> {
  if (!publisher.enabled) return fn();
  const started = performance.now();
  try {
    const result = await fn();
    publish(source, operation, started, 'ok', bytesOf?.(result));
    return result;
  } catch (error) {
    publish(source, operation, started, 'error', undefined, errorCodeOf(error));
    throw error;
  }
}

/** Publishes one event for an operation that started at `started` (performance.now()). */
export function publish(
  source: EventSource,
  operation: Operation,
  started: number,
  outcome: 'ok' | 'error',
  bytes?: number,
  errorCode?: string,
): void {
  publisher.publishLazy(() => {
    const event: StorageOperationEvent = {
      operation,
      driver: source.driver,
      durationMs: performance.now() - started,
      outcome,
    };
    if (source.bucket !== undefined) event.bucket = source.bucket;
    if (bytes !== undefined) event.bytes = bytes;
    if (errorCode !== undefined) event.errorCode = errorCode;
    return event;
  });
}

/** Whether anyone listens (so callers can skip timing work). */
export function telemetryEnabled(): boolean {
  return publisher.enabled;
}

/** Bytes a range read moves: `start`..`end` inclusive, cut to an object of `size` bytes. */
export function rangeBytes(start: number, end: number, size: number): number {
  return Math.max(0, Math.min(end, size - 1) - start + 1);
}
