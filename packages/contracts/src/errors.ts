/**
 * The one error type every Voelgoed adapter throws across a port, and its subclasses.
 *
 * `instanceof` fails when two copies of this package are loaded (two versions in one
 * node_modules tree), so the class is also branded with a registry symbol: use
 * {@link isInfrastructureError} (optionally with a code) where copies may differ.
 */
const BRAND: unique symbol = Symbol.for('@voelgoed/error') as never;

/** Stable codes of the errors defined here. Adapters may add their own (e.g. `REDIS_REPLY`). */
export const ErrorCodes = {
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  TIMEOUT: 'TIMEOUT',
  CONNECTION: 'CONNECTION',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  LOCK_LOST: 'LOCK_LOST',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  RATE_LIMITED: 'RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ABORTED: 'ABORTED',
  HTTP_STATUS: 'HTTP_STATUS',
  INTEGRITY: 'INTEGRITY',
  AUTH: 'AUTH',
} as const;

/** A code of the contracts' own errors (an adapter's codes are in its own union, e.g. `HttpErrorCode`). */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * `ErrorCode`, or another adapter's code: known codes autocomplete, and a code this package does
 * not know (an adapter's, or a newer version's) is still a readable string.
 */
export type AnyErrorCode = ErrorCode | (string & Record<never, never>);

/** Options shared by every infrastructure error. */
export interface InfrastructureErrorOptions {
  /** Whether trying the same operation again may succeed. */
  retryable?: boolean;
  /** The underlying error (vendor error, system error). */
  cause?: unknown;
}

export class InfrastructureError extends Error {
  /**
   * Stable, machine-readable code such as `INVALID_ARGUMENT` or `TIMEOUT`. Each subclass declares
   * its literal code, so the classes differ in type and a guard's `false` branch keeps its type.
   */
  readonly code: AnyErrorCode;
  /** Whether trying the same operation again may succeed. */
  readonly retryable: boolean;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options: InfrastructureErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The error a guard narrows to: the class of `Map[C]`, or `InfrastructureError` when no code was
 * given (`C` stays `never`).
 */
export type NarrowedError<Map, C extends keyof Map> = [C] extends [never] ? InfrastructureError : Map[C];

/**
 * True for an {@link InfrastructureError} from any copy of this package; with `code`, only for
 * an error with that code, narrowed to the class that carries it (`HTTP_STATUS` →
 * {@link HttpStatusError}, `TIMEOUT` → {@link TimeoutError}, …; see {@link InfrastructureErrorMap}).
 * `code` must be one of {@link ErrorCodes}: a misspelt code is a compile error. For an adapter's
 * own codes use its guard (`isHttpError`, `isRedisError`, `isStorageError`).
 */
export function isInfrastructureError<C extends ErrorCode = never>(
  value: unknown,
  code?: C,
): value is NarrowedError<InfrastructureErrorMap, C> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string' &&
    (code === undefined || (value as { code: string }).code === code)
  );
}

/**
 * The code to report for any thrown value, for events, spans and logs: its string `code` when it
 * has one (an infrastructure error's, or a handler's own), else `UNKNOWN`. Never throws, even for a
 * value whose `code` getter does.
 */
export function errorCodeOf(error: unknown): string {
  try {
    const code = (error as { code?: unknown } | null | undefined)?.code;
    return typeof code === 'string' ? code : 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

/** Bad input: empty key, TTL <= 0, non-finite number, malformed URL. Never retryable. */
export class InvalidArgumentError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.INVALID_ARGUMENT;

  constructor(message: string, options: Omit<InfrastructureErrorOptions, 'retryable'> = {}) {
    super(ErrorCodes.INVALID_ARGUMENT, message, { ...options, retryable: false });
  }
}

export interface TimeoutErrorOptions extends InfrastructureErrorOptions {
  /** True when the operation may have taken effect before the deadline passed (INCR, SET, POST). */
  maybeExecuted?: boolean;
}

/** A deadline passed. Retryable by default; `maybeExecuted` says whether it may have run. */
export class TimeoutError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.TIMEOUT;
  readonly maybeExecuted: boolean;

  constructor(message: string, options: TimeoutErrorOptions = {}) {
    super(ErrorCodes.TIMEOUT, message, { retryable: true, ...options });
    this.maybeExecuted = options.maybeExecuted ?? true;
  }
}

export interface ConnectionErrorOptions extends InfrastructureErrorOptions {
  /**
   * True when the request may have reached the server before the connection was lost (bytes of
   * it were written and no reply came). Such an error is not retryable unless `retryable` says
   * so (a read-only command).
   */
  maybeExecuted?: boolean;
}

/**
 * The server is unreachable, the connection dropped, or the client is closed. Retryable by
 * default, except when `maybeExecuted` (a retry could apply the effect twice).
 */
export class ConnectionError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.CONNECTION;
  readonly maybeExecuted: boolean;

  constructor(message: string, options: ConnectionErrorOptions = {}) {
    const { maybeExecuted = false, ...rest } = options;
    super(ErrorCodes.CONNECTION, message, { retryable: !maybeExecuted, ...rest });
    this.maybeExecuted = maybeExecuted;
  }
}

/**
 * The server refused the credentials (wrong password, unknown user, no password given where one
 * is required). Never retryable: the same credentials are refused again.
 */
export class AuthenticationError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.AUTH;

  constructor(message: string, options: Omit<InfrastructureErrorOptions, 'retryable'> = {}) {
    super(ErrorCodes.AUTH, message, { ...options, retryable: false });
  }
}

/** The object, key or resource does not exist. */
export class NotFoundError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.NOT_FOUND;

  constructor(message: string, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.NOT_FOUND, message, options);
  }
}

/** The operation conflicts with the current state (e.g. a concurrent writer won). */
export class ConflictError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.CONFLICT;

  constructor(message: string, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.CONFLICT, message, options);
  }
}

/** A precondition given with the request (If-Match, NX/XX, expected version) did not hold. */
export class PreconditionFailedError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.PRECONDITION_FAILED;

  constructor(message: string, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.PRECONDITION_FAILED, message, options);
  }
}

/** A lock could not be acquired before its retries were spent (or its signal aborted). */
export class LockTimeoutError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.LOCK_TIMEOUT;
  /** The resources that were asked for. */
  readonly resources: readonly string[];
  /** How many acquisition attempts were made. */
  readonly attempts: number;

  constructor(
    message: string,
    resources: readonly string[],
    attempts: number,
    options: InfrastructureErrorOptions = {},
  ) {
    super(ErrorCodes.LOCK_TIMEOUT, message, { retryable: true, ...options });
    this.resources = resources;
    this.attempts = attempts;
  }
}

/** A held lock was lost (expired, taken over, or could not be extended). */
export class LockLostError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.LOCK_LOST;
  readonly resources: readonly string[];

  constructor(message: string, resources: readonly string[], options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.LOCK_LOST, message, options);
    this.resources = resources;
  }
}

/** A circuit breaker is open: the call was not attempted. Retryable later. */
export class CircuitOpenError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.CIRCUIT_OPEN;
  /** What the breaker guards (e.g. an origin). */
  readonly target: string;
  /** Milliseconds until the breaker lets a probe through, when known. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    target: string,
    retryAfterMs?: number,
    options: InfrastructureErrorOptions = {},
  ) {
    super(ErrorCodes.CIRCUIT_OPEN, message, { retryable: true, ...options });
    this.target = target;
    this.retryAfterMs = retryAfterMs;
  }
}

/** A rate limit or a full queue refused the call. Retryable later. */
export class RateLimitedError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.RATE_LIMITED;
  /** Milliseconds after which trying again may succeed, when known. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryAfterMs?: number, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.RATE_LIMITED, message, { retryable: true, ...options });
    this.retryAfterMs = retryAfterMs;
  }
}

/** The input or the response is larger than the configured limit. */
export class PayloadTooLargeError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.PAYLOAD_TOO_LARGE;
  readonly limit: number | undefined;

  constructor(message: string, limit?: number, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.PAYLOAD_TOO_LARGE, message, options);
    this.limit = limit;
  }
}

/** The caller's AbortSignal aborted the operation. */
export class AbortedError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.ABORTED;

  constructor(message: string, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.ABORTED, message, options);
  }
}

/** Data did not arrive intact: a checksum mismatch, or fewer/more bytes than declared. */
export class IntegrityError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.INTEGRITY;

  constructor(message: string, options: InfrastructureErrorOptions = {}) {
    super(ErrorCodes.INTEGRITY, message, options);
  }
}

/**
 * The body of an {@link HttpStatusError}'s response: the bytes as they came (a `Uint8Array`),
 * with `text()` and `json()` to decode them.
 */
export class HttpErrorBody extends Uint8Array {
  /** The bytes decoded as UTF-8 (malformed sequences become U+FFFD). */
  text(): string {
    return new TextDecoder().decode(this);
  }

  /** The body parsed as JSON; `InvalidArgumentError` when it is not JSON (as `HttpResponse.json()`). */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (error) {
      throw new InvalidArgumentError('[voelgoed:contracts] the error response body is not JSON', {
        cause: error instanceof Error ? new Error(error.message) : undefined,
      });
    }
  }
}

/** What {@link HttpStatusError} is built from: the response's status, headers and (read) body. */
export interface HttpStatusErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Options of {@link HttpStatusError}. */
export interface HttpStatusErrorOptions extends InfrastructureErrorOptions {
  /**
   * Whether the request is safe to send again even if the server acted on it (not a POST or
   * PATCH without an idempotency key). Default true. When false, a status after which the server
   * may have acted (500, 502, 504, …) is not `retryable`.
   */
  repeatable?: boolean;
}

/**
 * Whether the server may have acted on a request it answered with `status`: a 5xx other than
 * 501, 503 and 505 (which say the request was not handled). 4xx statuses refuse the request.
 */
export function statusMayHaveActed(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 503 && status !== 505;
}

/** An HTTP response whose status the caller asked to treat as an error (4xx/5xx by default). */
export class HttpStatusError extends InfrastructureError {
  declare readonly code: typeof ErrorCodes.HTTP_STATUS;
  readonly status: number;
  /**
   * Whether the server may have acted on the request (see {@link statusMayHaveActed}): then a
   * request that a retry could apply twice is not `retryable`.
   */
  readonly maybeExecuted: boolean;
  /** The response, body included (already read; bytes with `text()` and `json()`), for inspection. */
  readonly response: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: HttpErrorBody;
  };

  constructor(message: string, response: HttpStatusErrorResponse, options: HttpStatusErrorOptions = {}) {
    const status = response.status;
    const { repeatable = true, ...rest } = options;
    const maybeExecuted = statusMayHaveActed(status);
    super(ErrorCodes.HTTP_STATUS, message, {
      retryable:
        (status === 408 || status === 425 || status === 429 || status >= 500) &&
        (repeatable || !maybeExecuted),
      ...rest,
    });
    this.status = status;
    this.maybeExecuted = maybeExecuted;
    const { body } = response;
    // A view over the same bytes, not a copy.
    this.response = {
      status,
      headers: response.headers,
      body:
        body instanceof HttpErrorBody
          ? body
          : new HttpErrorBody(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength),
    };
  }
}

/**
 * The class that carries each contracts code: what {@link isInfrastructureError} narrows to.
 * Adapters extend it with their own codes (`HttpErrorMap`, `RedisErrorMap`, `StorageErrorMap`).
 */
export interface InfrastructureErrorMap {
  INVALID_ARGUMENT: InvalidArgumentError;
  TIMEOUT: TimeoutError;
  CONNECTION: ConnectionError;
  NOT_FOUND: NotFoundError;
  CONFLICT: ConflictError;
  PRECONDITION_FAILED: PreconditionFailedError;
  LOCK_TIMEOUT: LockTimeoutError;
  LOCK_LOST: LockLostError;
  CIRCUIT_OPEN: CircuitOpenError;
  RATE_LIMITED: RateLimitedError;
  PAYLOAD_TOO_LARGE: PayloadTooLargeError;
  ABORTED: AbortedError;
  HTTP_STATUS: HttpStatusError;
  INTEGRITY: IntegrityError;
  AUTH: AuthenticationError;
}
