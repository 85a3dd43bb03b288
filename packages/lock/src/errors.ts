import { type ErrorCode, InvalidArgumentError, LockLostError, LockTimeoutError } from '@voelgoed/contracts';

/** Prefix of every message this package puts in an error. */
export const MESSAGE_PREFIX = '[voelgoed:lock]';

/**
 * Every code an error of this package may carry: the lock adds none to the contracts' codes, so
 * `isInfrastructureError(e, code)` narrows them all (`LOCK_TIMEOUT` → `LockTimeoutError`, whose
 * subclass {@link LockNotAcquiredError} this package throws).
 */
export type LockErrorCode = ErrorCode;

/** An `INVALID_ARGUMENT` error for bad input given to this package (`cause`: what reading it threw). */
export function invalidArgument(message: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`, cause === undefined ? {} : { cause });
}

/**
 * Why an acquisition gave up:
 * - `contention`: the resource was held by someone else on too many nodes;
 * - `quorum`: too many nodes failed or timed out to reach a majority (nodes down);
 * - `validity`: a majority was reached but took so long that no validity was left;
 * - `aborted`: the caller's signal aborted, or the lock manager was closed.
 */
export type LockNotAcquiredReason = 'contention' | 'quorum' | 'validity' | 'aborted';

/**
 * A lock could not be acquired (code `LOCK_TIMEOUT`, a `LockTimeoutError` of the contracts).
 * `reason` tells contention from nodes being down; `cause` holds the last node error, if any.
 */
export class LockNotAcquiredError extends LockTimeoutError {
  readonly reason: LockNotAcquiredReason;

  /**
   * @param retryable false for `aborted`, and for a `validity` that no retry can change (a TTL
   *   that leaves no validity after the drift allowance); true otherwise.
   */
  constructor(
    reason: LockNotAcquiredReason,
    resources: readonly string[],
    attempts: number,
    cause?: unknown,
    retryable = reason !== 'aborted',
  ) {
    super(`${MESSAGE_PREFIX} ${describeReason(reason, attempts)}`, resources, attempts, {
      retryable,
      ...(cause === undefined ? {} : { cause }),
    });
    this.reason = reason;
  }
}

function describeReason(reason: LockNotAcquiredReason, attempts: number): string {
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  switch (reason) {
    case 'contention':
      return `lock not acquired: the resource is locked by another owner (${tries})`;
    case 'quorum':
      return `lock not acquired: no quorum of Redis nodes answered (nodes down or too slow; ${tries})`;
    case 'validity':
      return attempts === 0
        ? 'lock not acquired: the TTL leaves no validity after the drift allowance (ttl × driftFactor + 2 ms); nothing was sent'
        : `lock not acquired: a quorum was reached but no validity time was left (${tries})`;
    case 'aborted':
      return `lock not acquired: aborted while waiting (${tries})`;
  }
}

/** The lock was lost: expired, taken over, or could not be extended. */
export function lockLost(resources: readonly string[], why: string, cause?: unknown): LockLostError {
  return new LockLostError(`${MESSAGE_PREFIX} lock lost: ${why}`, resources, {
    ...(cause === undefined ? {} : { cause }),
  });
}
