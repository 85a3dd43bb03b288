import {
  AbortedError,
  ConnectionError,
  type InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  TimeoutError,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX, storageError } from './errors.js';
import { RequestIdleTimeout } from './s3-transport.js';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'EHOSTDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload']);
const ACCESS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
]);
const SERVER = new Set([
  'InternalError',
  'SlowDown',
  'ServiceUnavailable',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
}

/** What was being done: the operation (in the message) and the key (kept out of it). */
export interface ErrorContext {
  operation: string;
  key?: string | undefined;
  bucket: string;
}

/**
 * Turns whatever minio or Node threw into an `InfrastructureError` with a stable code.
 * Messages hold the operation, the key and the server's error code; never credentials or
 * signed query strings (minio's own messages are not echoed when they might hold a URL).
 */
export function toS3Error(error: unknown, ctx: ErrorContext): InfrastructureError {
  if (isInfrastructureError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  // Keys are never echoed: they may hold user data.
  const what = ctx.operation;
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new AbortedError(`${MESSAGE_PREFIX} ${what} was aborted`, { cause: error });
  }
  if (error instanceof RequestIdleTimeout) {
    return new TimeoutError(`${MESSAGE_PREFIX} ${what}: no response within ${error.timeoutMs} ms`, {
      cause: error,
    });
  }
  if (
    CONNECTION_CODES.has(code) ||
    (name !== 'S3Error' && /socket hang up|aborted/i.test(String(e.message)))
  ) {
    return new ConnectionError(
      `${MESSAGE_PREFIX} ${what}: cannot reach the S3 server (${code || 'connection lost'})`,
      { cause: error },
    );
  }
  if (name === 'S3Error') return fromS3Reply(error, code, ctx);
  return fromOtherError(error, name, String(e.message), what);
}

/** An error reply of the S3 server (minio's `S3Error`), by its S3 error code. */
function fromS3Reply(error: unknown, code: string, ctx: ErrorContext): InfrastructureError {
  const what = ctx.operation;
  const where = `bucket '${ctx.bucket}'`;
  if (NOT_FOUND.has(code))
    return new NotFoundError(`${MESSAGE_PREFIX} ${what}: no such object in ${where}`, { cause: error });
  if (code === 'NoSuchBucket')
    return new NotFoundError(`${MESSAGE_PREFIX} ${what}: ${where} does not exist`, { cause: error });
  if (code === 'PreconditionFailed')
    return new PreconditionFailedError(`${MESSAGE_PREFIX} ${what}: precondition failed`, { cause: error });
  if (code === 'InvalidRange')
    return new InvalidArgumentError(`${MESSAGE_PREFIX} ${what}: the range is not satisfiable`, {
      cause: error,
    });
  if (code === 'EntityTooLarge')
    return new PayloadTooLargeError(`${MESSAGE_PREFIX} ${what}: the server refused the size`, undefined, {
      cause: error,
    });
  if (ACCESS.has(code))
    return storageError(
      'ACCESS_DENIED',
      `${MESSAGE_PREFIX} ${what}: the server refused the credentials or permissions (${code})`,
      { cause: error },
    );
  return storageError('S3_ERROR', `${MESSAGE_PREFIX} ${what}: S3 error ${code || 'unknown'}`, {
    retryable: SERVER.has(code),
    cause: error,
  });
}

/** Anything else minio or Node threw: a 5xx minio gave up on, a bad argument, or an unknown failure. */
function fromOtherError(error: unknown, name: string, message: string, what: string): InfrastructureError {
  // minio with retries off turns a 5xx into a plain Error naming the status.
  const status = /Retryable HTTP status: (\d{3})/.exec(message)?.[1];
  if (status) {
    return storageError('S3_ERROR', `${MESSAGE_PREFIX} ${what}: the server answered HTTP ${status}`, {
      retryable: true,
      cause: error,
    });
  }
  if (/^Invalid/.test(name)) {
    return new InvalidArgumentError(`${MESSAGE_PREFIX} ${what}: ${name}`, { cause: error });
  }
  return storageError('S3_ERROR', `${MESSAGE_PREFIX} ${what} failed (${name || 'Error'})`, { cause: error });
}
