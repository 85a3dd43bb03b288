import { Channels, createPublisher, RateLimitedError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

/** Concurrency limit per origin with a bounded queue. */
export interface BulkheadOptions {
  /** Requests in flight per origin (default 64). */
  maxConcurrent?: number;
  /** Requests waiting per origin; past it, calls fail fast with `RateLimitedError` (default 1024). */
  maxQueued?: number;
}

const bulkheadEvents = createPublisher(Channels.httpBulkhead);

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** One origin's bulkhead. `acquire` resolves when a slot is free; call the returned release once. */
export class Bulkhead {
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    readonly origin: string,
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** True when a slot was free and is now taken (no promise needed on the fast path). */
  tryAcquire(): boolean {
    if (this.#active < this.maxConcurrent && this.#queue.length === 0) {
      this.#active++;
      return true;
    }
    return false;
  }

  acquire(signal: AbortSignal | undefined, abortReason: () => unknown): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (this.#queue.length >= this.maxQueued) {
      bulkheadEvents.publishLazy(() => ({
        origin: this.origin,
        active: this.#active,
        queued: this.#queue.length,
        event: 'rejected',
      }));
      return Promise.reject(
        new RateLimitedError(
          `${MESSAGE_PREFIX} too many requests to ${this.origin}: ${this.#active} in flight and ${this.#queue.length} queued`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.#queue.indexOf(waiter);
          if (index >= 0) this.#queue.splice(index, 1);
          reject(abortReason());
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      bulkheadEvents.publishLazy(() => ({
        origin: this.origin,
        active: this.#active,
        queued: this.#queue.length,
        event: 'queued',
      }));
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (!next) {
      this.#active--;
      return;
    }
    if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
    bulkheadEvents.publishLazy(() => ({
      origin: this.origin,
      active: this.#active,
      queued: this.#queue.length,
      event: 'dequeued',
    }));
    next.resolve();
  }
}
