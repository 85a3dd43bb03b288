/**
 * One request's life across its attempts: the caller's signal and the overall deadline abort
 * whichever attempt (or retry wait) is current, with the right reason.
 */
export class RequestScope {
  /** Why the whole request is over (caller abort or deadline), once it is. */
  reason: unknown;
  /** `performance.now()` value at which the deadline passes. */
  readonly deadlineAt: number | undefined;
  #current: AbortController | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #wake: ((error: unknown) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;

  constructor(
    signal: AbortSignal | undefined,
    deadlineMs: number | undefined,
    abortReason: () => unknown,
    deadlineReason: () => unknown,
  ) {
    if (deadlineMs !== undefined) {
      this.deadlineAt = performance.now() + deadlineMs;
      this.#deadlineTimer = setTimeout(() => this.fail(deadlineReason()), deadlineMs);
    }
    if (signal) {
      this.#signal = signal;
      this.#onAbort = () => this.fail(abortReason());
      if (signal.aborted) this.#onAbort();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  /** Ends the request with `reason`: aborts the current attempt, wakes a retry wait. */
  fail(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.#current?.abort(reason);
    this.#wake?.(reason);
  }

  beginAttempt(): AbortController {
    const controller = new AbortController();
    this.#current = controller;
    if (this.reason !== undefined) controller.abort(this.reason);
    return controller;
  }

  endAttempt(controller: AbortController): void {
    if (this.#current === controller) this.#current = undefined;
  }

  /** Waits `ms`, or rejects with the reason when the request ends first. */
  sleep(ms: number): Promise<void> {
    if (this.reason !== undefined) return Promise.reject(this.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = (error) => {
        clearTimeout(timer);
        this.#wake = undefined;
        reject(error);
      };
    });
  }

  /** The deadline covers a streamed request until its headers only. */
  endDeadline(): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
  }

  dispose(): void {
    this.endDeadline();
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort);
    this.#current = undefined;
  }
}
