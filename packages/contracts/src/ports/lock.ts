import type { Resource } from './health.js';

/** How to try for a lock. */
export interface AcquireOptions {
  /** Further attempts after the first one fails (default 10; 0 tries once; `Infinity` until the signal aborts). */
  retries?: number;
  /** Base delay between attempts in ms (default 100). */
  retryDelayMs?: number;
  /** Random extra delay added to each wait, 0..jitterMs (default 50), so waiters do not move in step. */
  jitterMs?: number;
  /** Aborting gives up waiting: `acquire` rejects with `LockTimeoutError` (cause: the abort reason). */
  signal?: AbortSignal;
}

/** Options of {@link DistributedLock.withLock}. */
export interface WithLockOptions extends AcquireOptions {
  /** TTL of the lock in ms (default 5000). It is renewed while `fn` runs, so it only bounds a crash. */
  ttlMs?: number;
  /**
   * Renew the lock while `fn` runs (default true). Renewal happens at a fraction of the TTL; when it
   * fails, the signal given to `fn` aborts with a `LockLostError`.
   */
  autoExtend?: boolean;
}

/**
 * A held lock. Release it exactly once (or let `await using` do it). Holding a lock is a
 * lease, not a guarantee: pass {@link Lock.fencingToken} to the resource you protect so that it
 * can refuse a stale holder.
 */
export interface Lock extends AsyncDisposable {
  /** The first (or only) resource locked. */
  readonly resource: string;
  /** Every resource locked, in the order given (multi-resource locks are all-or-nothing). */
  readonly resources: readonly string[];
  /** Unique owner token; only the holder of this value can release or extend the lock. */
  readonly value: string;
  /**
   * Strictly greater than every earlier holder's token for the same resource (for a
   * multi-resource lock: the token of {@link Lock.resource}; see `fencingTokens`).
   */
  readonly fencingToken: number;
  /** Fencing token per resource, in the order of {@link Lock.resources}. */
  readonly fencingTokens: readonly number[];
  /** Epoch ms until which the lock is safely held (validity, drift already taken off). */
  readonly expiresAt: number;
  /** Whether the lock is still believed held (false after release, expiry or a failed extend). */
  readonly held: boolean;
  /** Pushes the expiry to `ttlMs` from now. Rejects with `LockLostError` if the lock is no longer ours. */
  extend(ttlMs: number): Promise<void>;
  /** Releases the lock. Resolves `false` when it was no longer ours (expired, taken over). Never throws for that. */
  release(): Promise<boolean>;
}

/** A lock manager shared across processes (Redlock over Redis, or in memory for tests). */
export interface DistributedLock extends Resource {
  /**
   * Takes the lock on `resource` (or on every one of `resources`, all or nothing) for `ttlMs`
   * (default 5000). Rejects with `LockTimeoutError` (code `LOCK_TIMEOUT`) once its retries are
   * spent, and with `InvalidArgumentError` for an empty resource or a TTL that is not a positive
   * finite number.
   */
  acquire(resource: string | readonly string[], ttlMs?: number, options?: AcquireOptions): Promise<Lock>;
  /**
   * Releases the lock on `resource` if `value` still owns it. Resolves whether it did; someone
   * else's lock is never released.
   */
  release(resource: string | readonly string[], value: string): Promise<boolean>;
  /**
   * Runs `fn` while holding the lock and releases it whatever `fn` does; resolves with `fn`'s
   * result. The lock is renewed while `fn` runs; if it is lost, `signal` aborts (reason: a
   * `LockLostError`) and `withLock` rejects with that error once `fn` settles.
   */
  withLock<T>(
    resource: string | readonly string[],
    fn: (signal: AbortSignal, lock: Lock) => Promise<T> | T,
    options?: WithLockOptions,
  ): Promise<T>;
}
