import { Channels, createPublisher, type StorageOperationEvent } from '@voelgoed/contracts';
import { errorCodeOf } from './error-code.js';

const publisher = createPublisher(Channels.storageOperation);

type Operation = StorageOperationEvent['operation'];

/** Where events come from: the driver name and its bucket or root name (never keys). */
export interface EventSource {
  driver: string;
  bucket?: string | undefined;
}

/**
 * Runs `fn` and publishes one `voelgoed:storage:operation` event when it settles (nothing is
 * built when no one subscribes). `bytesOf` tells the bytes moved from the result.
 */
export async function instrument<T>(
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
