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

/**
 * Turns a transport's failure into an `InfrastructureError`: a connect timeout becomes
 * `HttpTimeoutError` (phase `connect`), a request the transport refused to send
 * `InvalidArgumentError` (never counted by the breaker, the retry budget or retries), anything
 * else `ConnectionError`. The vendor error is kept as a redacted copy only.
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
  return new ConnectionError(`${MESSAGE_PREFIX} ${target} failed${detail}`, { cause });
}
