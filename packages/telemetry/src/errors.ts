import { InfrastructureError } from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:telemetry]';

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string): InfrastructureError {
  return new InfrastructureError('INVALID_ARGUMENT', `${MESSAGE_PREFIX} ${message}`);
}
