import { SlidingWindow } from './sliding-window.js';

/** How many retries a client may make, relative to its requests, so an outage does not multiply load. */
export interface RetryBudgetOptions {
  /** Retries allowed as a share of first attempts over the window (default 0.2). */
  ratio?: number;
  /** Retries always allowed per window, whatever the traffic (default 10). */
  minRetries?: number;
  /** Window length in ms (default 10 000). */
  windowMs?: number;
}

const REQUEST = 0;
const RETRY = 1;

/** A client-wide retry budget: retries <= minRetries + ratio * requests over a sliding window. */
export class RetryBudget {
  readonly #window: SlidingWindow;
  readonly #ratio: number;
  readonly #minRetries: number;

  constructor(options: Required<RetryBudgetOptions>) {
    this.#window = new SlidingWindow(options.windowMs, 2);
    this.#ratio = options.ratio;
    this.#minRetries = options.minRetries;
  }

  /** Records a first attempt. */
  recordRequest(now = Date.now()): void {
    this.#window.add(REQUEST, now);
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(now = Date.now()): boolean {
    const allowed = this.#minRetries + this.#ratio * this.#window.sum(REQUEST, now);
    if (this.#window.sum(RETRY, now) >= allowed) return false;
    this.#window.add(RETRY, now);
    return true;
  }
}
