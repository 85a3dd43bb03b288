import { InvalidArgumentError } from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:telemetry]';

/** An `InvalidArgumentError` (code `INVALID_ARGUMENT`) for bad input given to this package. */
export function invalidArgument(message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}
