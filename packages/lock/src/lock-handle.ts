import {
  ConnectionError,
  errorCodeOf,
  isInfrastructureError,
  type Lock,
  type LockLostError,
  type Logger,
  TimeoutError,
} from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import type { Resources } from './caller-input.js';
import { lockLost, MESSAGE_PREFIX } from './errors.js';
import { events } from './events.js';
import type { LockKeys } from './keys.js';
import { checkTtl } from './options.js';
import type { QuorumCount, Tokens } from './quorum.js';
import type { Redlock } from './redlock.js';

/** @internal What a {@link RedisLockHandle} is made of (see `RedisLock`'s acquire). */
export interface LockHandleInit {
  redlock: Redlock;
  /** The Redis keys of the lock (see keys.ts). */
  keys: LockKeys;
  resources: Resources;
  value: string;
  fencingTokens: Tokens;
  /** performance.now() at which validity ends. */
  validUntil: number;
  /** Called once when the handle is released (the manager stops tracking it). */
  onReleased: (handle: RedisLockHandle) => void;
  /** The connections (one per node) this lock's commands go through. */
  nodes: readonly RedisClient[];
  /** Where a loss and an unconfirmed extension are logged (never the resources or the value). */
  logger: Logger;
}

/** How a lock was found lost (the `reason` of `voelgoed:lock:lost`). */
type LostReason = 'extend_failed' | 'expired';

/** A held Redlock lock, as returned by `RedisLock.acquire`. */
export class RedisLockHandle implements Lock {
  readonly resource: string;
  readonly fencingToken: number;
  /** @internal the Redis keys of the lock (see keys.ts). */
  readonly keys: LockKeys;
  readonly resources: readonly string[];
  readonly value: string;
  readonly fencingTokens: readonly number[];
  readonly #redlock: Redlock;
  readonly #onReleased: (handle: RedisLockHandle) => void;
  readonly #nodes: readonly RedisClient[];
  readonly #logger: Logger;
  #validUntil: number;
  #expiresAt: number;
  #released = false;
  #lost = false;
  readonly #acquiredAt: number;

  /** @internal created by RedisLock. */
  constructor(init: LockHandleInit) {
    this.resource = init.resources[0];
    this.fencingToken = init.fencingTokens[0];
    this.keys = init.keys;
    this.resources = init.resources;
    this.value = init.value;
    this.fencingTokens = init.fencingTokens;
    this.#redlock = init.redlock;
    this.#onReleased = init.onReleased;
    this.#nodes = init.nodes;
    this.#logger = init.logger;
    this.#acquiredAt = performance.now();
    this.#validUntil = init.validUntil;
    this.#expiresAt = Date.now() + (init.validUntil - this.#acquiredAt);
  }

  /** Epoch ms until which the lock is safely held (drift already taken off). */
  get expiresAt(): number {
    return this.#expiresAt;
  }

  /** performance.now() at which validity ends (monotonic; used by the watchdog). */
  get validUntil(): number {
    return this.#validUntil;
  }

  /** True until released, lost, or past its validity (checked on the monotonic clock). */
  get held(): boolean {
    return !this.#released && !this.#lost && performance.now() < this.#validUntil;
  }

  /** @internal Whether it was released (by `release()` or through the manager). */
  get released(): boolean {
    return this.#released;
  }

  /** Validity left in ms (0 when no longer held). */
  get remainingMs(): number {
    return this.held ? this.#validUntil - performance.now() : 0;
  }

  /**
   * @internal Marks the handle released without a round trip (its owner value was released
   * through `RedisLock.release(resource, value)`): `held` turns false, `release()` resolves false.
   */
  markReleased(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onReleased(this);
  }

  /** @internal Marks the lock lost (once) and reports it on `voelgoed:lock:lost`. */
  markLost(reason: LostReason): void {
    if (this.#lost || this.#released) return;
    this.#lost = true;
    const heldMs = performance.now() - this.#acquiredAt;
    events.lost.publishLazy(() => ({ resourceCount: this.resources.length, heldMs, reason }));
    this.#logger.warn(
      { resourceCount: this.resources.length, heldMs: Math.round(heldMs), reason },
      'lock lost',
    );
  }

  /**
   * Pushes the expiry to `ttlMs` from now on a majority of nodes. Rejects with `LockLostError`
   * when the lock is no longer ours (released, expired, taken over); with a `TIMEOUT` or
   * `CONNECTION` error (retryable: a compare-and-pexpire applied twice does no harm; `cause` = the
   * last node error) when too many nodes failed to tell, while the lock is still valid.
   */
  extend(ttlMs: number): Promise<void> {
    return this.extendWith(ttlMs, 'manual');
  }

  /** @internal extend with the trigger reported in the event. */
  async extendWith(ttlMs: number, trigger: 'auto' | 'manual'): Promise<void> {
    const ttl = checkTtl(ttlMs ?? Number.NaN, 0);
    const started = performance.now();
    if (!this.held) {
      const why = this.#released ? 'it was released' : 'its validity ran out';
      throw this.#lostOnExtend(started, trigger, 'expired', why);
    }
    const result = await this.#redlock.extend(this.keys, this.value, ttl, this.#nodes);
    // The new TTL started counting on each node no earlier than `started`: the round trip is
    // inside it, not to be subtracted again.
    const validUntil = this.#redlock.validUntil(started, ttl);
    if (result.done >= this.#redlock.quorum && !this.#released && !this.#lost) {
      this.#extended(validUntil, started, trigger);
    } else {
      throw this.#notExtended(result, validUntil, started, trigger);
    }
  }

  /** A quorum extended the lock: its new validity, unless that ended before the answer came. */
  #extended(validUntil: number, started: number, trigger: 'auto' | 'manual'): void {
    const now = performance.now();
    if (validUntil <= now) {
      // Extended, but the answer came after the new validity ended (a stalled event loop, paused
      // nodes): the keys expire by the new TTL, so resolving would leave a lock not held.
      throw this.#lostOnExtend(started, trigger, 'expired', 'the extension arrived after its validity ended');
    }
    this.#validUntil = validUntil;
    this.#expiresAt = Date.now() + (validUntil - now);
    this.#reportExtend(started, trigger, undefined);
  }

  /**
   * No quorum extended the lock: lost when a majority says it is not ours (or it was released,
   * lost or ran out meanwhile); else the node error, the lock still valid until the earlier end.
   */
  #notExtended(
    result: QuorumCount,
    validUntil: number,
    started: number,
    trigger: 'auto' | 'manual',
  ): unknown {
    const n = this.#redlock.clients.length;
    if (result.notOwner > n - this.#redlock.quorum || this.#released || this.#lost || !this.held) {
      const why = 'it is no longer held by this owner on a majority of nodes';
      return this.#lostOnExtend(started, trigger, 'extend_failed', why);
    }
    // Too many nodes failed to answer: we cannot tell. The new TTL may have been applied where
    // they did not answer, so the lock stays valid until the earlier of the two ends (a shorter
    // TTL than what was left may have shortened it).
    this.#validUntil = Math.min(this.#validUntil, validUntil);
    if (this.#validUntil <= performance.now()) {
      // A TTL too short to be confirmed in time (or nodes too slow for it): not held any more.
      const why = 'its validity ended before a quorum confirmed the extension';
      return this.#lostOnExtend(started, trigger, 'expired', why, result.error);
    }
    const error =
      result.error === undefined
        ? lockLost(this.resources, 'no quorum of nodes confirmed the extension')
        : retryableNodeError(result.error);
    const errorCode = errorCodeOf(error);
    this.#reportExtend(started, trigger, errorCode);
    this.#logger.warn(
      { resourceCount: this.resources.length, trigger, errorCode, remainingMs: Math.round(this.remainingMs) },
      'lock extension not confirmed by a quorum',
    );
    return error;
  }

  /** The lock found lost by an extend: marked lost (once, unless released) and reported; to throw. */
  #lostOnExtend(
    started: number,
    trigger: 'auto' | 'manual',
    reason: LostReason,
    why: string,
    cause?: unknown,
  ): LockLostError {
    const error = lockLost(this.resources, why, cause);
    this.markLost(reason);
    this.#reportExtend(started, trigger, error.code);
    return error;
  }

  /** Publishes an extend's outcome on `voelgoed:lock:extend` (an error when `errorCode` is given). */
  #reportExtend(started: number, trigger: 'auto' | 'manual', errorCode: string | undefined): void {
    if (!events.extend.enabled) return;
    events.extend.publish({
      resourceCount: this.resources.length,
      durationMs: performance.now() - started,
      trigger,
      outcome: errorCode === undefined ? 'ok' : 'error',
      ...(errorCode === undefined ? {} : { errorCode }),
    });
  }

  /**
   * Releases the lock on every node (compare-and-delete). Resolves true when it was still ours
   * on a majority, false when it was not (expired, taken over, already released) or when too
   * many nodes failed to answer; never throws.
   */
  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.markReleased();
    const heldMs = events.release.enabled ? performance.now() - this.#acquiredAt : 0;
    const result = await this.#redlock.release(this.keys, this.value, this.#nodes);
    const released = result.done >= this.#redlock.quorum;
    if (events.release.enabled) {
      events.release.publish({
        resourceCount: this.resources.length,
        heldMs,
        outcome: released ? 'released' : result.failed > 0 ? 'error' : 'not_owner',
        ...(!released && result.failed > 0 ? { errorCode: errorCodeOf(result.error) } : {}),
      });
    }
    return released;
  }

  /** `await using lock = await locks.acquire(...)` releases at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/**
 * The error of an extend that too few nodes answered: the node error's code (`TIMEOUT`,
 * `CONNECTION`), retryable whatever the node error said, since a compare-and-pexpire sent again
 * cannot do harm (it may have run: `maybeExecuted`); the node error is its `cause`. Other errors
 * are passed on as they are.
 */
function retryableNodeError(error: unknown): unknown {
  const why = `${MESSAGE_PREFIX} lock extension not confirmed by a quorum: too many nodes did not answer`;
  if (isInfrastructureError(error, 'TIMEOUT')) {
    return new TimeoutError(`${why} in time`, { cause: error, retryable: true, maybeExecuted: true });
  }
  if (isInfrastructureError(error, 'CONNECTION')) {
    const maybeExecuted = (error as { maybeExecuted?: unknown }).maybeExecuted !== false;
    return new ConnectionError(`${why} (connection)`, { cause: error, retryable: true, maybeExecuted });
  }
  return error;
}
