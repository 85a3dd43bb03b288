import { isInfrastructureError } from '@voelgoed/contracts';

/** The stable code of an infrastructure error, `UNKNOWN` for anything else. */
export function errorCodeOf(error: unknown): string {
  return isInfrastructureError(error) ? error.code : 'UNKNOWN';
}
