import type { RedisClient } from '@voelgoed/redis';

type Wake = () => void;

/** How long a subscription that failed is left alone before it is tried again, ms. */
const RESUBSCRIBE_AFTER_MS = 1000;
/** How long `close()` waits for subscriptions still being opened, ms. */
const CLOSE_WAIT_MS = 1000;

/**
 * Fast hand-off: waiters for a lock key park here, and a release published on the channel (by
 * the release script, only when a waiter left a marker) wakes them at once instead of after
 * their retry delay. One subscription per node, opened at the first contention; waiters never
 * wait for it (they still poll), so a node that is down costs nothing.
 */
export class ReleaseNotifier {
  readonly #waiters = new Map<string, Set<Wake>>();
  readonly #subscriptions: (Promise<(() => Promise<void>) | undefined> | undefined)[];
  readonly #failedAt: number[];
  readonly #lastRelease = new Map<string, string>();
  #closed = false;

  constructor(
    private readonly clients: readonly RedisClient[],
    private readonly channel: string,
  ) {
    this.#subscriptions = clients.map(() => undefined);
    this.#failedAt = clients.map(() => 0);
  }

  /** Opens the subscriptions not open yet (on nodes that are up); returns at once. */
  ensureSubscribed(): void {
    if (this.#closed) return;
    const now = performance.now();
    for (let i = 0; i < this.clients.length; i++) {
      if (this.#subscriptions[i] !== undefined) continue;
      const client = this.clients[i]!;
      if (client.state !== 'ready' || now - this.#failedAt[i]! < RESUBSCRIBE_AFTER_MS) continue;
      const subscription = client
        .subscribe(this.channel, (message) => this.#onMessage(message))
        .catch(() => {
          this.#failedAt[i] = performance.now();
          this.#subscriptions[i] = undefined;
          return undefined;
        });
      this.#subscriptions[i] = subscription;
    }
  }

  /** A message is `<lock key>\n<owner value>`; each node publishes it once per release. */
  #onMessage(message: string): void {
    const at = message.lastIndexOf('\n');
    if (at < 0) return;
    const key = message.slice(0, at);
    const value = message.slice(at + 1);
    // The same release arrives from every node: wake for the first copy only.
    if (this.#lastRelease.get(key) === value) return;
    if (this.#lastRelease.size >= 10_000) this.#lastRelease.clear();
    this.#lastRelease.set(key, value);
    this.#wakeOne(key);
  }

  /**
   * Wakes the longest-waiting waiter of `key` in this process, not all of them: the others would
   * only lose the race and add load (a thundering herd). The next release wakes the next one;
   * everyone still polls at their retry delay.
   */
  #wakeOne(key: string): void {
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    for (const wake of waiters) {
      wake();
      return;
    }
  }

  /**
   * Waits until one of `keys` is released, `ms` pass, or `signal` aborts, whichever comes
   * first. Resolves true when woken by a release.
   */
  wait(keys: readonly string[], ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const key of keys) {
          const set = this.#waiters.get(key);
          if (set?.delete(wake) && set.size === 0) this.#waiters.delete(key);
        }
        resolve(woken);
      };
      const wake = () => finish(true);
      const onAbort = () => finish(false);
      for (const key of keys) {
        let set = this.#waiters.get(key);
        if (!set) {
          set = new Set();
          this.#waiters.set(key, set);
        }
        set.add(wake);
      }
      timer = setTimeout(() => finish(false), ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes every waiter and closes the subscriptions. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
    // A subscription still connecting to a paused node may never settle: wait for it a little only.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CLOSE_WAIT_MS);
    });
    await Promise.allSettled(this.#subscriptions.map(async (s) => (await Promise.race([s, late]))?.()));
    clearTimeout(timer);
  }
}
