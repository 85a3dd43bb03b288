import type { RedisArgument } from './commands.js';
import { commandName, isReadonlyCommand } from './commands.js';
import type { Deadline } from './deadline.js';
import { mapError, RedisTimeoutError } from './errors.js';

/** What a pending command reports to the client that sent it. */
export interface PendingOwner {
  finished(pending: PendingCommand, errorCode: string | undefined): void;
  expired(pending: PendingCommand): void;
}

const NO_ARGS: readonly RedisArgument[] = Object.freeze([]);

/**
 * One command in flight: its own deadline entry (no closure per command for the timer), the
 * reply handler the backend settles, and the resolvers of the promise handed to the caller.
 * Once settled it lets go of its arguments: the deadline sweeper may hold the entry a while
 * longer (until a sweep passes it), and a command's arguments can be megabytes.
 */
export class PendingCommand implements Deadline {
  done = false;
  at = 0;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly owner: PendingOwner,
    /** The command; empty once it settled. */
    public args: readonly RedisArgument[],
    readonly timeoutMs: number,
    /** performance.now() at the start when someone listens to events, else 0. */
    readonly started: number,
    /** Read bulk strings as Buffers (the connection's parser asks). */
    readonly buffers: boolean,
  ) {}

  settle(reply: unknown): void {
    if (this.done) return;
    this.done = true;
    this.#finished(undefined);
    this.resolve(reply);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    const mapped = mapError(error, commandName(this.args), isReadonlyCommand(this.args));
    this.#finished(mapped.code);
    this.reject(mapped);
  }

  expire(): void {
    const error = new RedisTimeoutError(
      `${commandName(this.args)} timed out after ${this.timeoutMs} ms`,
      true,
      isReadonlyCommand(this.args),
    );
    this.#finished(error.code);
    this.owner.expired(this);
    this.reject(error);
  }

  /** Reports the outcome to the owner, then lets go of the arguments. */
  #finished(errorCode: string | undefined): void {
    this.owner.finished(this, errorCode);
    this.args = NO_ARGS;
  }
}
