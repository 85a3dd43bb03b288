import {
  commandName,
  isReadonlyCommand,
  type RedisArgument,
  type RedisReply,
  toArgs,
  validateCommand,
} from './commands.js';
import type { Lent } from './connection-pool.js';
import { invalidArgument, isRedisError } from './errors.js';
import { BUFFERS } from './node-redis-options.js';

/** Commands whose replies come as pushes that command() cannot receive. */
const PUSHES = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR']);

/** What an isolated connection needs of its client: the same deadline rules. */
export interface DeadlineRunner {
  runWithDeadline<T>(
    name: string,
    timeoutMs: number | undefined,
    run: () => Promise<T>,
    readonly?: boolean,
  ): Promise<T>;
}

/**
 * A connection of its own, lent by `RedisClient.withConnection`. A command that failed other
 * than with an error reply (its deadline passed with it still running there, the connection
 * dropped) keeps the connection from going back to the pool.
 */
export class IsolatedConnection {
  readonly #lent: Lent;
  readonly #owner: DeadlineRunner;

  /** @internal created by `RedisClient.withConnection`. */
  constructor(lent: Lent, owner: DeadlineRunner) {
    this.#lent = lent;
    this.#owner = owner;
  }

  /** Sends one command on this connection (BLPOP, WATCH, …) with the same deadline rules. */
  command<T = RedisReply>(
    args: readonly RedisArgument[],
    options?: { timeoutMs?: number; returnBuffers?: boolean },
  ): Promise<T> {
    // A connection of its own: SELECT, CLIENT REPLY and the like are the caller's business here.
    validateCommand(args, 'command', false);
    const name = commandName(args);
    if (PUSHES.has(name)) {
      // Its messages would have nowhere to go, and the connection would go back to the pool
      // still subscribed (the next borrower's PING would get a pub/sub reply).
      throw invalidArgument(`command: ${name} cannot run through withConnection: use client.subscribe()`);
    }
    const client = this.#lent.client;
    return this.#owner
      .runWithDeadline(
        name,
        options?.timeoutMs,
        () => client.sendCommand(toArgs(args), options?.returnBuffers ? BUFFERS : undefined) as Promise<T>,
        isReadonlyCommand(args),
      )
      .catch((error: unknown) => {
        if (!isRedisError(error, 'REDIS_REPLY')) this.#lent.taint();
        throw error;
      });
  }
}
