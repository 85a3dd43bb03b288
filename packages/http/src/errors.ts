import {
  type ErrorCode,
  InfrastructureError,
  type InfrastructureErrorMap,
  InvalidArgumentError,
  isInfrastructureError,
  type NarrowedError,
  TimeoutError,
} from '@voelgoed/contracts';
import { redactText } from './redact.js';
import type { WebhookVerificationError } from './webhooks/verification-error.js';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:http]';

/** An `INVALID_ARGUMENT` error for bad input given to this package. */
export function invalidArgument(message: string): InfrastructureError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);
}

/** Which part of a request ran out of time. */
export type TimeoutPhase = 'connect' | 'headers' | 'request' | 'deadline';

/**
 * A `TimeoutError` (code `TIMEOUT`) that says which phase ran out of time: `connect` (TCP/TLS
 * connect), `headers` (waiting for the response head), `request` (the whole attempt) or
 * `deadline` (the overall deadline across every attempt and wait).
 */
export class HttpTimeoutError extends TimeoutError {
  readonly phase: TimeoutPhase;

  constructor(
    message: string,
    phase: TimeoutPhase,
    options: { maybeExecuted?: boolean; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, {
      maybeExecuted: options.maybeExecuted ?? phase !== 'connect',
      ...(options.retryable === undefined ? {} : { retryable: options.retryable }),
      cause: options.cause,
    });
    this.phase = phase;
  }
}

/** Codes this package adds to the contracts' `ErrorCodes`. */
export const HttpErrorCodes = {
  /** More redirects in a row than `maxRedirects`: {@link TooManyRedirectsError}. */
  TOO_MANY_REDIRECTS: 'TOO_MANY_REDIRECTS',
  /** The address filter refused the address a request would connect to: {@link ForbiddenTargetError}. */
  FORBIDDEN_TARGET: 'FORBIDDEN_TARGET',
  /** A received webhook's signature (or its headers) did not verify: `WebhookVerificationError`. */
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
} as const;

/** Every code an error of this package may carry: the contracts' codes and {@link HttpErrorCodes}. */
export type HttpErrorCode = ErrorCode | (typeof HttpErrorCodes)[keyof typeof HttpErrorCodes];

/** The class that carries each {@link HttpErrorCode}: what {@link isHttpError} narrows to. */
export interface HttpErrorMap extends InfrastructureErrorMap {
  TOO_MANY_REDIRECTS: TooManyRedirectsError;
  FORBIDDEN_TARGET: ForbiddenTargetError;
  SIGNATURE_INVALID: WebhookVerificationError;
}

/**
 * `isInfrastructureError` that also knows this package's codes: true for an infrastructure error
 * (from any copy of the contracts), with `code` only for that code, narrowed to its class
 * (`FORBIDDEN_TARGET` → {@link ForbiddenTargetError}, `HTTP_STATUS` → `HttpStatusError`, …).
 */
export function isHttpError<C extends HttpErrorCode = never>(
  value: unknown,
  code?: C,
): value is NarrowedError<HttpErrorMap, C> {
  return isInfrastructureError(value) && (code === undefined || value.code === code);
}

/** Too many redirects in a row (code `TOO_MANY_REDIRECTS`). */
export class TooManyRedirectsError extends InfrastructureError {
  declare readonly code: typeof HttpErrorCodes.TOO_MANY_REDIRECTS;

  constructor(message: string) {
    super(HttpErrorCodes.TOO_MANY_REDIRECTS, message, { retryable: false });
  }
}

/** The address a request would connect to was refused by the client's address filter (code `FORBIDDEN_TARGET`). */
export class ForbiddenTargetError extends InfrastructureError {
  declare readonly code: typeof HttpErrorCodes.FORBIDDEN_TARGET;

  constructor(message: string) {
    super(HttpErrorCodes.FORBIDDEN_TARGET, message, { retryable: false });
  }
}

/**
 * A copy of a vendor error that is safe to keep as `cause`: message (with URLs redacted), name
 * and system fields only. got's and undici's errors carry the request options, headers
 * included, so they are never kept as they are.
 */
export function safeCause(error: unknown): Error | undefined {
  if (error === undefined || error === null) return undefined;
  if (!(error instanceof Error)) return new Error(redactText(String(error)));
  const copy = new Error(redactText(error.message));
  copy.name = error.name;
  const source = error as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
  const target = copy as Error & { code?: unknown; errno?: unknown; syscall?: unknown };
  if (typeof source.code === 'string') target.code = source.code;
  if (typeof source.errno === 'number') target.errno = source.errno;
  if (typeof source.syscall === 'string') target.syscall = source.syscall;
  return copy;
}
