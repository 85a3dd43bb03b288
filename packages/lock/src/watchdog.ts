import { isInfrastructureError, type LockLostError } from '@voelgoed/contracts';
import { lockLost } from './errors.js';
import type { RedisLockHandle } from './lock-handle.js';
import { MAX_DELAY_MS } from './options.js';

/**
 * Keeps a lock alive while `withLock`'s function runs: renews every ttl × fraction ms, retries
 * sooner when nodes fail to answer, and calls `onLost` (once) when the lock is taken over or
 * its validity runs out (also after an event-loop stall longer than the validity).
 */
export class Watchdog {
  readonly #lock: RedisLockHandle;
  readonly #ttlMs: number;
  readonly #renewEveryMs: number;
  readonly #autoExtend: boolean;
  readonly #onLost: (error: LockLostError) => void;
  #timer: NodeJS.Timeout | undefined;
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
    this.#schedule(this.#autoExtend ? this.#renewEveryMs : this.#lock.remainingMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
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
      this.#schedule(this.#renewEveryMs);
    } catch (error) {
      if (this.#stopped) return;
      if (isInfrastructureError(error, 'LOCK_LOST')) {
        this.#lose(error as LockLostError);
        return;
      }
      // Nodes did not answer: try again soon, while validity lasts.
      this.#schedule(Math.max(10, Math.min(this.#renewEveryMs, this.#lock.remainingMs / 3)));
    }
  }
}
