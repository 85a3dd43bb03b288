import type { Abortable } from './transport.js';

/** What a scope needs to know of its request. */
export interface ScopedRequest {
  signal: AbortSignal | undefined;
  deadlineMs: number | undefined;
}

/**
 * One request's life across its attempts: the caller's signal and the overall deadline abort
 * whichever attempt (or retry wait) is current, with the right reason. Each attempt times the
 * deadline itself (see `Attempt`); the scope arms a timer of its own only when asked to (a
 * streamed request, whose deadline runs until the caller has the response head).
 */
export class RequestScope<R extends ScopedRequest = ScopedRequest> {
  /** Why the whole request is over (caller abort or deadline), once it is. */
  reason: unknown;
  /** `performance.now()` value at which the deadline passes. */
  readonly deadlineAt: number | undefined;
  #current: Abortable | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #wake: ((error: unknown) => void) | undefined;
  #onAbort: (() => void) | undefined;
  readonly #abortReason: (request: R) => unknown;
  readonly #deadlineReason: (request: R) => unknown;

  constructor(
    readonly request: R,
    abortReason: (request: R) => unknown,
    deadlineReason: (request: R) => unknown,
    armDeadline: boolean,
  ) {
    this.#abortReason = abortReason;
    this.#deadlineReason = deadlineReason;
    const { deadlineMs, signal } = request;
    if (deadlineMs !== undefined) {
      this.deadlineAt = performance.now() + deadlineMs;
      if (armDeadline) this.#deadlineTimer = setTimeout(failDeadline, deadlineMs, this);
    }
    if (signal) {
      this.#onAbort = () => this.fail(this.#abortReason(this.request));
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

  /** Ends the request with the deadline's reason. */
  failDeadline(): void {
    if (this.reason === undefined) this.fail(this.#deadlineReason(this.request));
  }

  beginAttempt(attempt: Abortable): void {
    this.#current = attempt;
    if (this.reason !== undefined) attempt.abort(this.reason);
  }

  endAttempt(attempt: Abortable): void {
    if (this.#current === attempt) this.#current = undefined;
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
    if (this.#onAbort) this.request.signal?.removeEventListener('abort', this.#onAbort);
    this.#current = undefined;
  }
}

function failDeadline(scope: { failDeadline(): void }): void {
  scope.failDeadline();
}
