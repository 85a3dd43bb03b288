import { type ErrorCode, InvalidArgumentError, isInfrastructureError } from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:telemetry]';

/**
 * Every code an error of this package may carry: telemetry adds none to the contracts' codes, so
 * `isInfrastructureError(e, code)` narrows them all.
 */
export type TelemetryErrorCode = ErrorCode;

/** An `InvalidArgumentError` (code `INVALID_ARGUMENT`) for bad input given to this package. */
export function invalidArgument(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}

/**
 * What to throw when reading a caller's labels threw: our own `INVALID_ARGUMENT` as it is, and
 * anything else (a Proxy trap, a throwing getter) as an `INVALID_ARGUMENT` naming the metric.
 */
export function unreadable(error: unknown, metric: string): unknown {
  return isInfrastructureError(error) ? error : invalidArgument(`labels of ${metric} could not be read`);
}
