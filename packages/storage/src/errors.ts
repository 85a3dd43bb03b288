import {
  type ErrorCode,
  InfrastructureError,
  type InfrastructureErrorMap,
  type InfrastructureErrorOptions,
  InvalidArgumentError,
  isInfrastructureError,
  type NarrowedError,
} from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:storage]';

/** Codes this package adds to the contracts' `ErrorCodes`. */
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

type OwnCode = (typeof StorageErrorCodes)[keyof typeof StorageErrorCodes];

/** Every code an error of this package may carry: the contracts' codes and {@link StorageErrorCodes}. */
export type StorageErrorCode = ErrorCode | OwnCode;

/**
 * The class that carries each {@link StorageErrorCode}: what {@link isStorageError} narrows to.
 * This package's own codes are carried by a plain `InfrastructureError` with that `code`.
 */
export interface StorageErrorMap extends InfrastructureErrorMap {
  NOT_SUPPORTED: InfrastructureError & { readonly code: 'NOT_SUPPORTED' };
  ACCESS_DENIED: InfrastructureError & { readonly code: 'ACCESS_DENIED' };
  S3_ERROR: InfrastructureError & { readonly code: 'S3_ERROR' };
  FS_ERROR: InfrastructureError & { readonly code: 'FS_ERROR' };
}

/**
 * `isInfrastructureError` that also knows this package's codes: true for an infrastructure error
 * (from any copy of the contracts), with `code` only for that code, narrowed to its class
 * (`NOT_FOUND` → `NotFoundError`, `PRECONDITION_FAILED` → `PreconditionFailedError`, …).
 */
export function isStorageError<C extends StorageErrorCode = never>(
  value: unknown,
  code?: C,
): value is NarrowedError<StorageErrorMap, C> {
  return isInfrastructureError(value) && (code === undefined || value.code === code);
}

/**
 * An error carrying one of this package's own codes (a plain `InfrastructureError`, see
 * {@link StorageErrorMap}). The code is written as a string literal, checked by the union.
 */
export function storageError(
  code: OwnCode,
  message: string,
  options?: InfrastructureErrorOptions,
): InfrastructureError {
  return new InfrastructureError(code, message, options);
}

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string): InfrastructureError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}

/** What every call but `health()` and `close()` rejects with once the storage is closed. */
export function closedError(): InfrastructureError {
  return invalidArgument('the storage is closed');
}

/** Makes `stream` emit its errors translated by `translate` (typed; the filesystem driver's without paths). */
export function typedStreamErrors<S extends NodeJS.ReadableStream>(
  stream: S,
  translate: (error: unknown) => InfrastructureError,
): S {
  const original = stream.emit.bind(stream);
  stream.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'error') return original('error', translate(args[0]));
    return original(event, ...args);
  }) as S['emit'];
  // An error given to destroy() is also the stream's `errored`, which a reader that attaches
  // later (`for await` after an abort while the body was held) is handed without any 'error'
  // event: typed there too.
  const readable = stream as unknown as { destroy?: (error?: Error, ...rest: unknown[]) => unknown };
  const destroy = readable.destroy;
  if (typeof destroy === 'function') {
    readable.destroy = function (this: unknown, error?: Error, ...rest: unknown[]) {
      const typed = error === undefined || error === null ? error : (translate(error) as Error);
      return destroy.call(this, typed, ...rest);
    };
  }
  return stream;
}
