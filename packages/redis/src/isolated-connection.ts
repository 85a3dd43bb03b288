import {
  commandName,
  isReadonlyCommand,
  type RedisArgument,
  type RedisReply,
  toArgs,
  validateCommand,
} from './commands.js';
import { BUFFERS, type NodeRedisClient } from './node-redis-options.js';

/** What an isolated connection needs of its client: the same deadline rules. */
export interface DeadlineRunner {
  runWithDeadline<T>(
    name: string,
    timeoutMs: number | undefined,
    run: () => Promise<T>,
    readonly?: boolean,
  ): Promise<T>;
}

/** A connection of its own, lent by `RedisClient.withConnection`. */
export class IsolatedConnection {
  readonly #client: NodeRedisClient;
  readonly #owner: DeadlineRunner;

  /** @internal created by `RedisClient.withConnection`. */
  constructor(client: NodeRedisClient, owner: DeadlineRunner) {
    this.#client = client;
    this.#owner = owner;
  }

  /** Sends one command on this connection (BLPOP, WATCH, …) with the same deadline rules. */
  command<T = RedisReply>(
    args: readonly RedisArgument[],
    options?: { timeoutMs?: number; returnBuffers?: boolean },
  ): Promise<T> {
    // A connection of its own: SELECT, CLIENT REPLY and the like are the caller's business here.
    validateCommand(args, 'command', false);
    return this.#owner.runWithDeadline(
      commandName(args),
      options?.timeoutMs,
      () =>
        this.#client.sendCommand(toArgs(args), options?.returnBuffers ? BUFFERS : undefined) as Promise<T>,
      isReadonlyCommand(args),
    );
  }
}
