import { ConnectionError, type InfrastructureError, isInfrastructureError } from '@voelgoed/contracts';
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
 * Turns a transport's failure into an `InfrastructureError`: a connect timeout becomes
 * `HttpTimeoutError` (phase `connect`), anything else `ConnectionError`. The vendor error is
 * kept as a redacted copy only.
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
  if (isConnectTimeout) {
    return new HttpTimeoutError(`${MESSAGE_PREFIX} ${target} timed out connecting`, 'connect', {
      maybeExecuted: false,
      cause,
    });
  }
  const detail = cause ? `: ${cause.message}` : '';
  return new ConnectionError(`${MESSAGE_PREFIX} ${target} failed${detail}`, { cause });
}
