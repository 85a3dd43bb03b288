import { type InfrastructureError, InvalidArgumentError } from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:storage]';

/** Codes this package adds to the contracts' {@link ErrorCodes}. */
export const StorageErrorCodes = {
  /** The driver does not offer the operation (e.g. `signedUrl` on the filesystem driver). */
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  /** The server refused the credentials or the request's permissions. */
  ACCESS_DENIED: 'ACCESS_DENIED',
  /** Any other error reply from an S3 server (`retryable` for 5xx). */
  S3_ERROR: 'S3_ERROR',
  /** A filesystem call failed for a reason other than a missing object. */
  FS_ERROR: 'FS_ERROR',
} as const;

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string): InfrastructureError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}
