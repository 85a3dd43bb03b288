import { Channels, CircuitOpenError, createPublisher, type Logger, silentLogger } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';
import { SlidingWindow } from './sliding-window.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** When a per-origin breaker opens and how it recovers. */
export interface CircuitBreakerOptions {
  /** Opens after this many failures in a row (default 5). */
  consecutiveFailures?: number;
  /** Opens when failures / calls over the window reach this ratio (default 0.5)… */
  failureRatio?: number;
  /** …provided at least this many calls were made in the window (default 20). */
  minimumCalls?: number;
  /** Window for the failure ratio, ms (default 10 000). */
  windowMs?: number;
  /** How long it stays open before letting probes through, ms (default 10 000). */
  openMs?: number;
  /** Probes let through at once while half-open; this many successes close it (default 1). */
  halfOpenProbes?: number;
}

const circuitEvents = createPublisher(Channels.httpCircuit);

const SUCCESS = 0;
const FAILURE = 1;

/** A ticket for one call through the breaker; report its outcome exactly once. */
export interface CircuitTicket {
  readonly probe: boolean;
  /** A probe's half-open period: a probe that ends after its period is over counts for nothing. */
  readonly cycle: number;
}

const NORMAL: CircuitTicket = { probe: false, cycle: 0 };

/** One origin's breaker: closed → open → half-open (limited probes) → closed. */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #consecutive = 0;
  #openedAt = 0;
  #probesInFlight = 0;
  #probeSuccesses = 0;
  /** Half-open periods so far: a probe's ticket carries the one it was let through in. */
  #cycle = 0;
  readonly #window: SlidingWindow;
  readonly #now: () => number;
  readonly #logger: Logger;

  constructor(
    readonly origin: string,
    readonly options: Required<CircuitBreakerOptions>,
    now: () => number = Date.now,
    logger: Logger = silentLogger,
  ) {
    this.#now = now;
    this.#logger = logger;
    this.#window = new SlidingWindow(options.windowMs, 2);
  }

  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.options.openMs) {
      this.#transition('half_open');
    }
    return this.#state;
  }

  /** Lets a call through or throws `CircuitOpenError`. */
  enter(): CircuitTicket {
    const state = this.state;
    if (state === 'closed') return NORMAL;
    if (state === 'half_open' && this.#probesInFlight < this.options.halfOpenProbes) {
      this.#probesInFlight++;
      return { probe: true, cycle: this.#cycle };
    }
    const retryAfterMs =
      state === 'open' ? Math.max(0, this.#openedAt + this.options.openMs - this.#now()) : undefined;
    throw new CircuitOpenError(
      `${MESSAGE_PREFIX} circuit for ${this.origin} is ${state === 'open' ? 'open' : 'half-open (probing)'}`,
      this.origin,
      retryAfterMs,
    );
  }

  success(ticket: CircuitTicket): void {
    if (ticket.probe) {
      if (!this.#current(ticket)) return;
      this.#probesInFlight--;
      if (++this.#probeSuccesses >= this.options.halfOpenProbes) this.#transition('closed');
      return;
    }
    this.#consecutive = 0;
    this.#window.add(SUCCESS, this.#now());
  }

  failure(ticket: CircuitTicket): void {
    if (ticket.probe) {
      if (!this.#current(ticket)) return;
      this.#probesInFlight--;
      this.#transition('open');
      return;
    }
    if (this.#state !== 'closed') return;
    const now = this.#now();
    this.#consecutive++;
    this.#window.add(FAILURE, now);
    if (this.#consecutive >= this.options.consecutiveFailures) {
      this.#transition('open');
      return;
    }
    const failures = this.#window.sum(FAILURE, now);
    const calls = failures + this.#window.sum(SUCCESS, now);
    if (calls >= this.options.minimumCalls && failures / calls >= this.options.failureRatio) {
      this.#transition('open');
    }
  }

  /** The call ended without telling anything about the origin (the caller aborted). */
  release(ticket: CircuitTicket): void {
    if (ticket.probe && this.#current(ticket)) this.#probesInFlight--;
  }

  /**
   * Whether a probe's outcome still counts: the breaker is in the half-open period that let it
   * through. A probe of an earlier period (the breaker opened again meanwhile) neither frees a
   * probe slot nor counts toward closing.
   */
  #current(ticket: CircuitTicket): boolean {
    return this.#state === 'half_open' && ticket.cycle === this.#cycle;
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (to === 'open') {
      this.#openedAt = this.#now();
    } else if (to === 'half_open') {
      this.#cycle++;
      this.#probeSuccesses = 0;
      this.#probesInFlight = 0;
    } else {
      this.#consecutive = 0;
      this.#window.reset();
    }
    circuitEvents.publish({ origin: this.origin, from, to });
    this.#log(from, to);
  }

  /** Tells the operator: warn when the breaker opens, info when it half-opens or closes. */
  #log(from: CircuitState, to: CircuitState): void {
    const origin = this.origin;
    if (to === 'open') {
      const failures = from === 'half_open' ? 'probe' : this.#consecutive;
      this.#logger.warn({ origin, from, to, failures, openMs: this.options.openMs }, 'http circuit opened');
    } else if (to === 'half_open') {
      this.#logger.info({ origin, from, to }, 'http circuit half-open, probing');
    } else {
      this.#logger.info({ origin, from, to }, 'http circuit closed');
    }
  }
}
