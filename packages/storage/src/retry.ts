import type { InfrastructureError } from '@voelgoed/contracts';
import { throwIfAborted } from './body-reader.js';

/** How {@link withRetry} retries. */
export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or `retries` retries are
 * spent. Delays double from `baseDelayMs` with full jitter; an aborted signal stops the wait.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  translate: (error: unknown) => InfrastructureError,
  policy: RetryPolicy,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (raw) {
      const error = translate(raw);
      if (!error.retryable || n >= policy.retries || policy.signal?.aborted) throw error;
      await sleep(Math.random() * policy.baseDelayMs * 2 ** n, policy.signal);
      throwIfAborted(policy.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
