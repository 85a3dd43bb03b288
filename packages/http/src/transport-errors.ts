import {
  ConnectionError,
  type InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
} from '@voelgoed/contracts';
import { HttpTimeoutError, MESSAGE_PREFIX, safeCause } from './errors.js';
import { redactUrl } from './redact.js';

/** Finds one of our own errors (thrown from a lookup hook) in a vendor error's cause chain. */
function ownError(error: unknown): InfrastructureError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (isInfrastructureError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Codes with which Node's http and undici refuse a request they were handed before sending
 * anything (a header value or name they cannot send). The request is checked first, so these
 * should never arrive; if one does, it is the caller's mistake, not the remote side's.
 */
const REFUSED_BEFORE_SENDING = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
]);

/** Codes of failures before a connection was made: no byte of the request reached the server. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** A TLS handshake that failed (certificate checks, protocol): the request was not sent. */
const TLS_HANDSHAKE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|_SIGNATURE$/;

/** The first string `code` in an error's cause chain. */
function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Whether a transport failure may have come after bytes of the request were written: true
 * unless its code says no connection was made (refused, unresolvable, unreachable, a failed TLS
 * handshake). A reset, a closed socket or an unknown failure may have come after the server ran it.
 */
export function maybeSent(error: unknown): boolean {
  const code = codeOf(error);
  return code === undefined || !(NOT_CONNECTED.has(code) || TLS_HANDSHAKE.test(code));
}

/**
 * Turns a transport's failure into an `InfrastructureError`: a connect timeout becomes
 * `HttpTimeoutError` (phase `connect`), a request the transport refused to send
 * `InvalidArgumentError` (never counted by the breaker, the retry budget or retries), anything
 * else `ConnectionError`, `maybeExecuted` unless no connection was made (the client then says
 * whether a retry is safe: {@link truthful}). The vendor error is kept as a redacted copy only.
 */
export function mapTransportError(
  error: unknown,
  method: string,
  url: URL,
  isConnectTimeout: boolean,
): InfrastructureError {
  const own = ownError(error);
  if (own) return own;
  const target = `${method} ${redactUrl(url)}`;
  const cause = safeCause(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REFUSED_BEFORE_SENDING.has(code)) {
    const message = `${MESSAGE_PREFIX} ${target}: the transport refused the request (${code})`;
    return new InvalidArgumentError(message, { cause });
  }
  if (isConnectTimeout) {
    return new HttpTimeoutError(`${MESSAGE_PREFIX} ${target} timed out connecting`, 'connect', {
      maybeExecuted: false,
      cause,
    });
  }
  const detail = cause ? `: ${cause.message}` : '';
  return new ConnectionError(`${MESSAGE_PREFIX} ${target} failed${detail}`, {
    maybeExecuted: maybeSent(error),
    cause,
  });
}

/**
 * A failed attempt's error as the caller gets it. `maybeExecuted` when bytes of the request may
 * have reached the server, and always once a response head came (a redirect's too: the request
 * ran); `retryable` only when a retry cannot apply it twice: nothing was sent, or `repeatable`
 * (an idempotent method or an idempotency key). Other errors pass unchanged.
 */
export function truthful(error: unknown, repeatable: boolean, answered: boolean): unknown {
  const timeout = error instanceof HttpTimeoutError;
  if (!timeout && !(error instanceof ConnectionError && error.constructor === ConnectionError)) return error;
  const maybeExecuted = error.maybeExecuted || answered;
  const retryable = !maybeExecuted || repeatable;
  if (maybeExecuted === error.maybeExecuted && retryable === error.retryable) return error;
  const options = { maybeExecuted, retryable, cause: error.cause };
  return timeout
    ? new HttpTimeoutError(error.message, error.phase, options)
    : new ConnectionError(error.message, options);
}
