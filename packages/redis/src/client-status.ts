import type { Backend, BackendEvents } from './backend.js';
import type { ConnectionState } from './client-types.js';
import { ConnectionLog } from './connection-log.js';
import { ConnectionWaiters } from './connection-waiters.js';
import { connectionError, RedisTimeoutError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/**
 * A client's connection state as its callers see it: the first connection, `ready()`, commands
 * waiting for a connection or failing fast during an outage, the last error, and the log lines
 * an operator needs about them. It hears the backend through {@link events}.
 */
export class ClientStatus {
  #state: ConnectionState = 'connecting';
  #everReady = false;
  #lastError: string | undefined;
  readonly #waiters = new ConnectionWaiters();
  readonly #log: ConnectionLog;
  readonly #target: string;
  readonly #connectTimeoutMs: number;
  /** Set once, right after construction (the backend needs this status's events first). */
  #backend: Backend | undefined;
  /** The first connection: resolves once, or rejects when the backend gave up. */
  #first: Promise<void> | undefined;

  constructor(options: ResolvedOptions, target: string) {
    this.#target = target;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#log = new ConnectionLog(options.logger, target);
  }

  /** What the backend reports, wired to this status. */
  readonly events: BackendEvents = {
    onError: (e, failsAttempt) => this.#onError(e, failsAttempt),
    onReady: () => this.#markReady(),
    onReconnecting: () => {
      if (this.#state === 'ready') this.#state = 'reconnecting';
    },
    onEnd: () => {
      if (!this.closing) this.#log.gaveUp();
      if (this.#state !== 'closing') this.#state = 'closed';
    },
    closing: () => this.closing,
  };

  /** Starts the first connection. */
  start(backend: Backend): void {
    this.#backend = backend;
    this.#first = this.#connect(backend);
    // A failed first connect is reported to callers through ready() and their commands.
    this.#first.catch(() => {});
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Closing or closed. */
  get closing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** Whether a connection was ever ready (after that, an outage fails commands fast). */
  get everReady(): boolean {
    return this.#everReady;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Records an error that is not the backend's (e.g. a failed topology refresh). */
  noteError(message: string | undefined): void {
    this.#lastError = message;
  }

  beginClose(): void {
    this.#state = 'closing';
  }

  closed(): void {
    this.#state = 'closed';
  }

  get #isReady(): boolean {
    return this.#backend?.isReady === true;
  }

  #onError(error: unknown, failsAttempt = true): void {
    this.#lastError = (error as { message?: string })?.message ?? String(error);
    if (!this.#isReady && !this.closing) this.#log.error(error);
    // A failed attempt fails those waiting for a connection at once (wrong password, nothing
    // listening) instead of letting them run into their deadline.
    if (!this.#isReady && failsAttempt) this.#waiters.fail(error, this.#everReady);
    if (this.#state === 'ready' && !this.#isReady) this.#state = 'reconnecting';
  }

  #markReady(): void {
    if (!this.closing) {
      this.#log.ready();
      this.#state = 'ready';
    }
    this.#everReady = true;
    this.#waiters.ready();
  }

  async #connect(backend: Backend): Promise<void> {
    try {
      await backend.connect();
    } catch (error) {
      this.#onError(error);
      throw connectionError(`cannot connect to ${this.#target}`, error);
    }
    this.#markReady();
  }

  /** See RedisClient.ready(). */
  ready(): Promise<void> {
    if (this.closing) return Promise.reject(connectionError('the client is closed'));
    if (this.#isReady) return Promise.resolve();
    return this.#waiters.next(`cannot connect to ${this.#target}`, this.#connectTimeoutMs, () =>
      this.#lastError ? ` (last error: ${this.#lastError})` : '',
    );
  }

  /** Not connected: wait for the first connection (within the deadline), or fail fast after an outage. */
  async whenReady(name: string, timeoutMs: number): Promise<void> {
    if (this.closing) throw connectionError(`${name} failed: the client is closed`);
    if (this.#everReady) {
      const detail = this.#lastError ? ` (last error: ${this.#lastError})` : '';
      throw connectionError(`${name} failed: not connected to ${this.#target}, reconnecting${detail}`);
    }
    await this.#waiters.first(
      this.#first ?? Promise.resolve(),
      `${name} failed: cannot connect to ${this.#target}`,
      timeoutMs,
      () => new RedisTimeoutError(`${name} timed out after ${timeoutMs} ms waiting to connect`, false),
    );
  }
}
