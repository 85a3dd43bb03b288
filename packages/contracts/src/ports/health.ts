/** `up`: serving; `degraded`: serving with a part unavailable (an open breaker); `down`: not serving. */
export type HealthStatus = 'up' | 'degraded' | 'down';

/** Why a resource is not up: a stable code (e.g. `TIMEOUT`, `CONNECTION`, `CLOSED`) and a short message. */
export interface HealthError {
  code: string;
  /** Never holds a secret (password, `Authorization`, signed URL query, webhook secret). */
  message: string;
}

/**
 * What {@link Resource.health} reports: the same shape for every port and adapter, so a readiness
 * endpoint can aggregate them. JSON-serialisable, and never holds a secret.
 */
export interface HealthReport {
  status: HealthStatus;
  /** The kind of resource: `redis`, `lock`, `http`, `storage`, `queue`, `cache`, `key-value`, `metrics`, ... */
  resource: string;
  /** Where it points (`host:port`, a bucket, a directory), without credentials or signed queries. */
  target?: string;
  /** How long the check took, ms (a round trip to the server where there is one). */
  latencyMs?: number;
  /** Set when the status is not `up`. */
  error?: HealthError;
  /** Resource-specific facts (breaker states, nodes answering, ...). */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * Something a service holds open and must report on and close: every port and adapter.
 *
 * - `health()` never throws, answers within about a second (a paused server reports `down`
 *   quickly, it does not hang the probe), and reports `down` after `close()`.
 * - `close()` is idempotent, resolves (never rejects, never hangs: bounded even when a server
 *   does not answer) and releases only what the resource itself created.
 */
export interface Resource {
  health(): Promise<HealthReport>;
  close(): Promise<void>;
}

/** Alias of {@link Resource} for code that only closes. */
export type Closeable = Resource;
