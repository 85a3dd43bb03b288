/**
 * The runtime of {@link RedisMulti}: commands queued through node-redis's parsers, run as one
 * transaction or pipeline of the client, replies transformed per command.
 */
import type { TypeMapping } from '@redis/client';
import type { CommandOptions, PipelineResult, RedisCommand } from './client-types.js';
import type { RedisReply } from './commands.js';
import {
  attachCommands,
  type ParsedCommand,
  parseCommand,
  type RedisMulti,
  readsBuffers,
} from './typed-commands.js';

/** What a typed batch needs of the client. */
export interface BatchRunner {
  transaction(commands: readonly RedisCommand[], options?: CommandOptions): Promise<RedisReply[]>;
  pipeline(commands: readonly RedisCommand[], options?: CommandOptions): Promise<PipelineResult[]>;
}

class Multi {
  readonly #queue: ParsedCommand[] = [];
  /** The first bad call: exec() rejects with it before anything is sent. */
  #error: unknown;

  constructor(
    readonly client: BatchRunner,
    readonly typeMapping: TypeMapping | undefined,
  ) {}

  get length(): number {
    return this.#queue.length;
  }

  /** @internal */
  queue(parsed: ParsedCommand): void {
    this.#queue.push(parsed);
  }

  /** @internal */
  refuse(error: unknown): void {
    this.#error ??= error;
  }

  #transform(replies: readonly unknown[]): unknown[] {
    return replies.map((reply, i) => {
      const transform = this.#queue[i]?.transform;
      return transform ? transform(reply) : reply;
    });
  }

  async exec(options?: { timeoutMs?: number }): Promise<unknown[]> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#queue.length === 0) return [];
    const replies = await this.client.transaction(
      this.#queue.map((c) => c.args),
      { ...options, returnBuffers: readsBuffers(this.typeMapping) },
    );
    return this.#transform(replies);
  }

  async execAsPipeline(options?: { timeoutMs?: number }): Promise<unknown[]> {
    if (this.#error !== undefined) throw this.#error;
    if (this.#queue.length === 0) return [];
    const results = await this.client.pipeline(
      this.#queue.map((c) => c.args),
      { ...options, returnBuffers: readsBuffers(this.typeMapping) },
    );
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok) throw failed.error;
    return this.#transform(results.map((r) => (r.ok ? r.value : undefined)));
  }
}

attachCommands(Multi.prototype, (receiver, name, command, args) => {
  const multi = receiver as Multi;
  try {
    multi.queue(parseCommand(name, command, args, multi.typeMapping));
  } catch (error) {
    multi.refuse(error);
  }
  return multi;
});

/** The batch object; `RedisClient.multi()` gives it its type (see {@link RedisMulti}). */
export function createMulti(client: BatchRunner, typeMapping?: TypeMapping): object {
  return new Multi(client, typeMapping);
}
