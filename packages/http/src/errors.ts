import { InfrastructureError, InvalidArgumentError, TimeoutError } from '@voelgoed/contracts';
import { redactText } from './redact.js';

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
    options: { maybeExecuted?: boolean; cause?: unknown } = {},
  ) {
    super(message, { maybeExecuted: options.maybeExecuted ?? phase !== 'connect', cause: options.cause });
    this.phase = phase;
  }
}

/** Too many redirects in a row (code `TOO_MANY_REDIRECTS`). */
export class TooManyRedirectsError extends InfrastructureError {
  constructor(message: string) {
    super('TOO_MANY_REDIRECTS', message, { retryable: false });
  }
}

/** The address a request would connect to was refused by the client's address filter (code `FORBIDDEN_TARGET`). */
export class ForbiddenTargetError extends InfrastructureError {
  constructor(message: string) {
    super('FORBIDDEN_TARGET', message, { retryable: false });
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
