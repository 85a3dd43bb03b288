/**
 * Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2^(retry-1))].
 * `retry` is 1 for the first retry.
 */
export function fullJitterDelay(retry: number, baseMs: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Parses a `Retry-After` value (delay-seconds or an HTTP-date) into ms from `now`; undefined
 * when absent or unparsable. A date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
