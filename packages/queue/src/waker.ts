import type { RedisClient } from '@voelgoed/redis';

/** How long `close()` waits for the subscription to be closed, ms. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * Wakes a queue's idle workers: one pub/sub subscription per queue object, on the channel every
 * state change that puts a job in line publishes on. An idle worker waits on it with a timer set
 * to the next due time (a delayed job, a lease running out), so nothing polls; a message missed
 * while disconnected costs at most that timer.
 */
export class Waker {
  #generation = 0;
  readonly #waiters = new Set<() => void>();
  #unsubscribe: (() => Promise<void>) | undefined;
  #subscribing: Promise<void> | undefined;
  #closed = false;
  readonly #redis: RedisClient;
  readonly #channel: string;

  constructor(redis: RedisClient, channel: string) {
    this.#redis = redis;
    this.#channel = channel;
  }

  /** Rises with every wake-up: read it before a fetch, and wait with it after. */
  get generation(): number {
    return this.#generation;
  }

  get subscribed(): boolean {
    return this.#unsubscribe !== undefined;
  }

  wake(): void {
    this.#generation++;
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves after `ms`, at a wake-up, when `signal` aborts, or at once when one came since `generation`. */
  wait(generation: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.#generation !== generation || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Subscribes unless already done; a failure (Redis down) is tried again at the next call. */
  async ensure(): Promise<void> {
    if (this.#unsubscribe || this.#closed) return;
    this.#subscribing ??= this.#redis
      .subscribe(this.#channel, () => this.wake())
      .then(
        (unsubscribe) => {
          if (this.#closed) unsubscribe().catch(() => {});
          else this.#unsubscribe = unsubscribe;
        },
        () => {},
      )
      .finally(() => {
        this.#subscribing = undefined;
      });
    await this.#subscribing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.wake();
    // A paused (SIGSTOPped) server never answers SUBSCRIBE or UNSUBSCRIBE: do not let it hang
    // the queue's close(). An abandoned unsubscribe ends with the client's own close.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([
      (async () => {
        await this.#subscribing;
        const unsubscribe = this.#unsubscribe;
        this.#unsubscribe = undefined;
        await unsubscribe?.().catch(() => {});
      })(),
      bound,
    ]);
    clearTimeout(timer);
  }
}
