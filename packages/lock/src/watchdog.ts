import { isInfrastructureError, type LockLostError } from '@voelgoed/contracts';
import { lockLost } from './errors.js';
import type { RedisLockHandle } from './lock-handle.js';
import { MAX_DELAY_MS } from './options.js';

/**
 * Keeps a lock alive while `withLock`'s function runs: renews every ttl × fraction ms, retries
 * sooner when nodes fail to answer, and calls `onLost` (once) when the lock is taken over or
 * its validity runs out (also after an event-loop stall longer than the validity). A timer at
 * the end of validity, moved by each extension, calls it then even while an extension is still
 * waiting for its answer (paused nodes answer only at their deadline, after the lock expired).
 */
export class Watchdog {
  readonly #lock: RedisLockHandle;
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #autoExtend: boolean;
  readonly #onLost: (error: LockLostError) => void;
  #timer: NodeJS.Timeout | undefined;
  /** Fires at the end of validity (see {@link #armExpiry}). */
  #expiry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    lock: RedisLockHandle,
    ttlMs: number,
    renewEveryMs: number,
    autoExtend: boolean,
    onLost: (error: LockLostError) => void,
  ) {
    this.#lock = lock;
    this.#ttlMs = ttlMs;
    this.#renewEveryMs = renewEveryMs;
    this.#autoExtend = autoExtend;
    this.#onLost = onLost;
  }

  start(): void {
    this.#armExpiry();
    this.#schedule(this.#autoExtend ? this.#renewEveryMs : this.#lock.remainingMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiry);
  }

  /**
   * (Re-)arms the timer at the end of the lock's current validity. When it fires and the lock is
   * not held any more (its validity was not moved meanwhile), the lock is lost at once, whatever
   * an extension in flight will answer later (an answer after the validity is a loss anyway).
   */
  #armExpiry(): void {
    if (this.#stopped) return;
    clearTimeout(this.#expiry);
    // A timer may fire a fraction of a ms early on the monotonic clock: then it is armed again.
    const delay = Math.max(1, Math.min(Math.ceil(this.#lock.remainingMs), MAX_DELAY_MS));
    this.#expiry = setTimeout(() => {
      if (this.#stopped || this.#lock.released) return;
      if (this.#lock.held) {
        this.#armExpiry();
        return;
      }
      this.#lock.markLost('expired');
      this.#lose(lockLost(this.#lock.resources, 'its validity ran out before it could be renewed'));
    }, delay);
  }

  /**
   * Stops, after one last look at the clock: when `fn` itself kept the event loop busy past the
   * validity (synchronous work), no timer could notice the loss before `fn` settled, and the
   * lock is lost all the same (unless `fn` released it itself).
   */
  stopChecked(): void {
    if (!this.#stopped && !this.#lock.released && !this.#lock.held) {
      this.#lock.markLost('expired');
      this.#lose(lockLost(this.#lock.resources, 'its validity ran out while fn ran'));
    }
    this.stop();
  }

  #schedule(inMs: number): void {
    if (this.#stopped) return;
    // Never sleep past the end of validity: wake then to notice the loss.
    // At most what a Node timer holds (a longer one would fire at once, over and over).
    const delay = Math.max(1, Math.min(inMs, this.#lock.remainingMs + 1, MAX_DELAY_MS));
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }

  #lose(error: LockLostError): void {
    if (this.#stopped) return;
    this.stop();
    this.#onLost(error);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    if (!this.#lock.held) {
      this.#lock.markLost('expired');
      this.#lose(lockLost(this.#lock.resources, 'its validity ran out before it could be renewed'));
      return;
    }
    if (!this.#autoExtend) {
      this.#schedule(this.#lock.remainingMs);
      return;
    }
    try {
      await this.#lock.extendWith(this.#ttlMs, 'auto');
      this.#armExpiry();
      this.#schedule(this.#renewEveryMs);
    } catch (error) {
      if (this.#stopped) return;
      if (isInfrastructureError(error, 'LOCK_LOST')) {
        this.#lose(error as LockLostError);
        return;
      }
      // Nodes did not answer: try again soon, while validity lasts (which may have moved closer:
      // the earlier of the old and the new end is kept).
      this.#armExpiry();
      this.#schedule(Math.max(10, Math.min(this.#renewEveryMs, this.#lock.remainingMs / 3)));
    }
  }
}
