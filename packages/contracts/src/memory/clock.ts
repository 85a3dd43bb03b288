import { InvalidArgumentError } from '../errors.js';

/** A source of "now" in epoch milliseconds, injectable so tests can move time by hand. */
export interface Clock {
  /** Current time in epoch ms. */
  now(): number;
}

/** The real clock (`Date.now()`). */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * A clock that only moves when told to: `advance(ms)` or `set(ms)`. Time never goes backwards.
 *
 * @example
 * const clock = new ManualClock();
 * const kv = new MemoryKeyValueStore({ clock });
 * await kv.set('k', 'v', { ttlMs: 1000 });
 * clock.advance(1000); // now the key has expired
 */
export class ManualClock implements Clock {
  #now: number;

  /** @param startMs the initial time in epoch ms (default 0). */
  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) {
      throw new InvalidArgumentError('[voelgoed:contracts] ManualClock start must be a finite number');
    }
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` (>= 0) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new InvalidArgumentError('[voelgoed:contracts] ManualClock.advance needs a finite ms >= 0');
    }
    this.#now += ms;
    return this.#now;
  }

  /** Sets the time to `ms` (not earlier than now) and returns it. */
  set(ms: number): number {
    if (!Number.isFinite(ms) || ms < this.#now) {
      throw new InvalidArgumentError(
        '[voelgoed:contracts] ManualClock.set needs a finite time not earlier than now',
      );
    }
    this.#now = ms;
    return this.#now;
  }
}
