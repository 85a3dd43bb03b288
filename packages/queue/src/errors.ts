import {
  ConnectionError,
  InvalidArgumentError,
  isInfrastructureError,
  PayloadTooLargeError,
  TimeoutError,
} from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:queue]';

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`, cause === undefined ? {} : { cause });
}

/** A payload over the queue's `maxPayloadBytes`. */
export function payloadTooLarge(size: number, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `${MESSAGE_PREFIX} the payload is ${size} bytes, more than the queue's limit of ${limit} (maxPayloadBytes)`,
    limit,
  );
}

/**
 * An enqueue that failed on the way to Redis. When it may have been stored (`maybeExecuted`), a
 * retry is safe only if every job had a caller-given id (an idempotent enqueue): `retryable`
 * says so. Other errors pass through.
 */
export function enqueueFailed(error: unknown, idsGiven: boolean): unknown {
  if (!isInfrastructureError(error) || (error.code !== 'TIMEOUT' && error.code !== 'CONNECTION'))
    return error;
  const maybeExecuted = (error as { maybeExecuted?: unknown }).maybeExecuted === true;
  const options = { maybeExecuted, retryable: !maybeExecuted || idsGiven, cause: error };
  const message = `${MESSAGE_PREFIX} enqueue failed${maybeExecuted ? ' (the jobs may have been stored)' : ''}: ${error.message}`;
  return error.code === 'TIMEOUT'
    ? new TimeoutError(message, options)
    : new ConnectionError(message, options);
}

/**
 * A read that failed on the way to Redis: retryable whether or not it ran (running it twice
 * changes nothing). Other errors pass through.
 */
export function retryableRead(error: unknown): unknown {
  if (!isInfrastructureError(error) || (error.code !== 'TIMEOUT' && error.code !== 'CONNECTION'))
    return error;
  if (error.retryable) return error;
  const maybeExecuted = (error as { maybeExecuted?: unknown }).maybeExecuted === true;
  const options = { maybeExecuted, retryable: true, cause: error };
  return error.code === 'TIMEOUT'
    ? new TimeoutError(error.message, options)
    : new ConnectionError(error.message, options);
}
