import { connectFailure, connectionError } from './errors.js';

interface Waiter {
  ready(): void;
  fail(error: unknown): void;
}

/**
 * Callers waiting for a connection: `ready()` callers (the next ready connection) and commands
 * sent before the first one. A failed attempt fails them at once with a typed error (`AUTH` for
 * refused credentials, `CONNECTION` otherwise) instead of letting them run into their deadline.
 */
export class ConnectionWaiters {
  /** Commands waiting for the first connection. */
  readonly #first = new Set<(error: unknown) => void>();
  /** ready() callers. */
  readonly #next = new Set<Waiter>();

  /** A connection became ready. */
  ready(): void {
    for (const waiter of [...this.#next]) waiter.ready();
  }

  /** A connection attempt failed. Commands wait for the first connection only until one failed. */
  fail(error: unknown, everReady: boolean): void {
    if (!everReady) for (const fail of [...this.#first]) fail(error);
    for (const waiter of [...this.#next]) waiter.fail(error);
  }

  /**
   * Resolves at the next ready connection; rejects at the next failed attempt, or with
   * CONNECTION once `ms` passed.
   */
  next(what: string, ms: number, detail: () => string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#next.delete(waiter);
      };
      const waiter: Waiter = {
        ready: () => {
          done();
          resolve();
        },
        fail: (error) => {
          done();
          reject(connectFailure(what, error));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(connectionError(`${what} within ${ms} ms${detail()}`));
      }, ms);
      this.#next.add(waiter);
    });
  }

  /**
   * Waits for `firstConnection` for at most `ms` (then rejects with `onTimeout()`); rejects at
   * once when an attempt fails before it.
   */
  async first(
    firstConnection: Promise<void>,
    what: string,
    ms: number,
    onTimeout: () => Error,
  ): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let fail: ((error: unknown) => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
      fail = (error) => reject(connectFailure(what, error));
      this.#first.add(fail);
    });
    try {
      await Promise.race([firstConnection, failed]);
    } finally {
      clearTimeout(timer);
      if (fail) this.#first.delete(fail);
    }
  }
}
