/**
 * The pool behind `withConnection`: up to `maximum` node-redis connections, each lent to one
 * caller at a time. Unlike node-redis's own pool, a connection goes back only when it is known
 * clean: one whose command passed its deadline (a BLPOP still waiting there would take the next
 * LPUSH, the next borrower's PING would wait behind it), that failed mid-flight, or whose `fn`
 * rejected (it may have left a MULTI open or a WATCH set) is closed, and a new one is made
 * when needed.
 */
import { connectionError, mapError, RedisTimeoutError } from './errors.js';
import { closeOrDestroy, destroyQuietly, type NodeRedisClient, within } from './node-redis-options.js';

interface Waiter {
  resolve(client: NodeRedisClient): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** A lent connection: `taint()` keeps it from going back to the pool. */
export interface Lent {
  readonly client: NodeRedisClient;
  taint(): void;
}

export class ConnectionPool {
  readonly #create: () => NodeRedisClient;
  readonly #maximum: number;
  readonly #acquireTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #idle: NodeRedisClient[] = [];
  /** Lent or connecting. */
  readonly #busy = new Set<NodeRedisClient>();
  readonly #waiters: Waiter[] = [];
  #closed = false;

  constructor(options: {
    create: () => NodeRedisClient;
    maximum: number;
    acquireTimeoutMs: number;
    connectTimeoutMs: number;
  }) {
    this.#create = options.create;
    this.#maximum = Math.max(1, options.maximum);
    this.#acquireTimeoutMs = options.acquireTimeoutMs;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  /** Runs `fn` with a connection of its own; it goes back to the pool only when clean. */
  async execute<T>(fn: (lent: Lent) => Promise<T>): Promise<T> {
    const client = await this.#acquire();
    let tainted = false;
    const lent: Lent = {
      client,
      taint: () => {
        tainted = true;
      },
    };
    try {
      return await fn(lent);
    } catch (error) {
      tainted = true;
      throw error;
    } finally {
      this.#giveBack(client, tainted || !client.isReady);
    }
  }

  async close(ms: number): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(closedError());
    }
    const all = [...this.#idle.splice(0), ...this.#busy];
    this.#busy.clear();
    await Promise.allSettled(
      all.map((c) =>
        c.isOpen ? closeOrDestroy(() => c.close(), c, ms) : Promise.resolve(destroyQuietly(c)),
      ),
    );
  }

  async #acquire(): Promise<NodeRedisClient> {
    if (this.#closed) throw closedError();
    for (let idle = this.#idle.pop(); idle !== undefined; idle = this.#idle.pop()) {
      // One that lost its connection while idle (reconnecting, or given up) is replaced.
      if (idle.isReady) {
        this.#busy.add(idle);
        return idle;
      }
      destroyQuietly(idle);
    }
    if (this.#busy.size < this.#maximum) return this.#connectNew();
    return new Promise<NodeRedisClient>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          const ms = this.#acquireTimeoutMs;
          reject(
            new RedisTimeoutError(`withConnection timed out after ${ms} ms waiting for a connection`, false),
          );
        }, this.#acquireTimeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /**
   * A new connection for a caller, who waits for it at most `acquireTimeoutMs` (the client's
   * commandTimeoutMs), as for a free one. The attempt itself may take up to `connectTimeoutMs`
   * (a TLS handshake may rightly outlast a short command deadline): a connection made after its
   * caller gave up joins the pool, and one not made by then is destroyed, so a paused server
   * leaves no half-open socket behind.
   */
  #connectNew(): Promise<NodeRedisClient> {
    const connecting = this.#connect();
    const ms = this.#acquireTimeoutMs;
    if (ms >= this.#connectTimeoutMs) return connecting;
    return new Promise<NodeRedisClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new RedisTimeoutError(`withConnection timed out after ${ms} ms waiting for a connection`, false),
        );
        connecting.then(
          (client) => this.#giveBack(client, !client.isReady),
          () => {},
        );
      }, ms);
      connecting.then(
        (client) => {
          clearTimeout(timer);
          resolve(client);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  async #connect(): Promise<NodeRedisClient> {
    const client = this.#create();
    this.#busy.add(client);
    const ms = this.#connectTimeoutMs;
    try {
      await within(
        client.connect(),
        ms,
        () => new RedisTimeoutError(`withConnection timed out after ${ms} ms connecting`, false),
      );
    } catch (error) {
      this.#busy.delete(client);
      destroyQuietly(client);
      this.#serveNext();
      throw mapError(error, 'withConnection');
    }
    if (this.#closed) {
      this.#busy.delete(client);
      destroyQuietly(client);
      throw closedError();
    }
    return client;
  }

  #giveBack(client: NodeRedisClient, discard: boolean): void {
    if (!this.#busy.delete(client)) return; // closed meanwhile
    if (discard) {
      destroyQuietly(client);
      this.#serveNext();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#idle.push(client);
      return;
    }
    clearTimeout(waiter.timer);
    this.#busy.add(client);
    waiter.resolve(client);
  }

  /** A slot came free without a connection to hand over: a waiter gets a new one. */
  #serveNext(): void {
    if (this.#closed || this.#busy.size >= this.#maximum) return;
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    this.#connectNew().then(waiter.resolve, waiter.reject);
  }
}

function closedError() {
  return connectionError('withConnection: the client is closed');
}
