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
  /** When it expires, on the sweeper's clock (set by `track`). */
  at: number;
  /** Called once when the deadline passes before `done` was set. */
  expire(): void;
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
      // biome-ignore lint/style/noNonNullAssertion: head < items.length (hot loop: no extra check)
      const entry = items[head]!;
      if (!entry.done) {
        if (entry.at > now) break;
        entry.done = true;
        entry.expire();
      }
      // Dropped now, not when the array is next replaced: while commands are in flight at every
      // sweep that is only after 1,024 entries, and an entry may hold a command's arguments.
      items[head++] = undefined as unknown as Deadline;
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
  /** The queue of the most used timeout, kept out of the Map for the hot path. */
  #mainTimeout = -1;
  #main = new DeadlineQueue();
  #timer: NodeJS.Timeout | undefined;

  readonly #resolutionMs: number;

  /** @param resolutionMs how often deadlines are checked; a deadline fires at most about this late. */
  constructor(resolutionMs = 10) {
    this.#resolutionMs = resolutionMs;
  }

  /** Arms `entry` to expire in `timeoutMs`, unless `entry.done` is set first. */
  track(entry: Deadline, timeoutMs: number): void {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.#resolutionMs);
      this.#timer.unref();
    }
    // The clock is read here, not taken from the last sweep: after synchronous work (a large
    // JSON.parse) a sweep's time is as old as that work, and the deadline would come that early.
    entry.at = performance.now() + timeoutMs;
    if (timeoutMs === this.#mainTimeout) {
      this.#main.push(entry);
      return;
    }
    if (this.#mainTimeout === -1) {
      this.#mainTimeout = timeoutMs;
      this.#main.push(entry);
      return;
    }
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      queue = new DeadlineQueue();
      this.#queues.set(timeoutMs, queue);
    }
    queue.push(entry);
  }

  /** Entries not yet dropped (settled ones may linger until the next sweep). */
  get size(): number {
    let n = this.#main.size;
    for (const q of this.#queues.values()) n += q.size;
    return n;
  }

  sweep(now = performance.now()): void {
    this.#main.sweep(now);
    for (const [timeoutMs, queue] of this.#queues) {
      queue.sweep(now);
      if (queue.size === 0) this.#queues.delete(timeoutMs);
    }
    if (this.#main.size === 0 && this.#queues.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Stops the timer; pending entries never fire. */
  dispose(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#queues.clear();
    this.#main = new DeadlineQueue();
  }
}
