/**
 * Deadlines for many in-flight operations on one timer.
 *
 * node-redis's own per-command timer costs several times its throughput (a timer per call) and
 * stops counting once a command is written, so a half-open connection can hang a call. Here a
 * single unref'd interval sweeps FIFO queues, one per timeout value: entries in a queue are
 * appended in deadline order, and replies on a connection come back in order too, so settled
 * entries gather at the head and are dropped by the same sweep. Memory stays bounded by
 * throughput × sweep interval, not throughput × timeout.
 */
export interface Deadline {
  /** Set when the operation settled; the sweep then drops the entry without firing. */
  done: boolean;
  readonly at: number;
  readonly onExpire: () => void;
}

class DeadlineQueue {
  items: Deadline[] = [];
  head = 0;

  push(entry: Deadline): void {
    this.items.push(entry);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** Fires expired entries and drops settled ones from the head. */
  sweep(now: number): void {
    const { items } = this;
    let head = this.head;
    while (head < items.length) {
      const entry = items[head]!;
      if (!entry.done) {
        if (entry.at > now) break;
        entry.done = true;
        entry.onExpire();
      }
      head++;
    }
    if (head === items.length) {
      this.items = [];
      this.head = 0;
    } else if (head > 1024 && head * 2 > items.length) {
      this.items = items.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }
}

export class DeadlineSweeper {
  readonly #queues = new Map<number, DeadlineQueue>();
  #timer: NodeJS.Timeout | undefined;

  /** @param resolutionMs how often deadlines are checked; a deadline fires at most this late. */
  constructor(private readonly resolutionMs = 10) {}

  /** Calls `onExpire` once `timeoutMs` have passed, unless `done` is set on the result first. */
  track(timeoutMs: number, onExpire: () => void): Deadline {
    const entry: Deadline = { done: false, at: performance.now() + timeoutMs, onExpire };
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      queue = new DeadlineQueue();
      this.#queues.set(timeoutMs, queue);
    }
    queue.push(entry);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.resolutionMs);
      this.#timer.unref();
    }
    return entry;
  }

  /** Entries not yet dropped (settled ones may linger until the next sweep). */
  get size(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.size;
    return n;
  }

  sweep(now = performance.now()): void {
    for (const [timeoutMs, queue] of this.#queues) {
      queue.sweep(now);
      if (queue.size === 0) this.#queues.delete(timeoutMs);
    }
    if (this.#queues.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Stops the timer; pending entries never fire. */
  dispose(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#queues.clear();
  }
}
