/**
 * A standalone server: commands, pipelines and transactions on this package's own multiplexed
 * connection (connection.ts); the pool (`withConnection`) and pub/sub subscribers on node-redis.
 */
import type { Backend, BackendEvents, MessageHandler } from './backend.js';
import type { RedisArgument } from './commands.js';
import { type ReplyHandler, RespConnection } from './connection.js';
import { ConnectionPool, type Lent } from './connection-pool.js';
import { mapError, RedisTimeoutError } from './errors.js';
import {
  closeOrDestroy,
  destroyQuietly,
  type NodeRedisClient,
  nodeRedisTemplate,
  reconnectStrategy,
  standaloneOptions,
  within,
} from './node-redis-options.js';
import { connectTrace, NodeRedisTracing } from './node-redis-tracing.js';
import type { ResolvedOptions } from './options.js';
import { ErrorReply } from './resp.js';

/**
 * EXEC's replies, or the first error among them (the commands that ran before and after it did
 * run: Redis has no rollback).
 */
export function execReplies(replies: unknown): unknown {
  if (Array.isArray(replies)) {
    const at = replies.findIndex((r) => r instanceof ErrorReply);
    if (at >= 0) {
      const first = replies[at] as ErrorReply;
      throw new ErrorReply(`${first.message} (transaction command ${at}; the others ran)`);
    }
  }
  return replies;
}

export class StandaloneBackend implements Backend {
  readonly kind = 'standalone';
  readonly #o: ResolvedOptions;
  readonly #events: BackendEvents;
  readonly #connection: RespConnection;
  /** node-redis's diagnostics channels for the shared connection (node-redis-tracing.ts). */
  readonly tracing: NodeRedisTracing;
  #pool: ConnectionPool | undefined;
  readonly #subscribers: NodeRedisClient[] = [];

  constructor(options: ResolvedOptions, events: BackendEvents) {
    this.#o = options;
    this.#events = events;
    // Built now, at start-up, rather than at the first subscribe() mid-run.
    nodeRedisTemplate();
    const tracing = new NodeRedisTracing(options.host, options.port, options.db);
    this.tracing = tracing;
    this.#connection = new RespConnection({
      host: options.host,
      port: options.port,
      tls: options.tls,
      username: options.username,
      password: options.password,
      db: options.db,
      clientName: options.clientName,
      connectTimeoutMs: options.connectTimeoutMs,
      reconnectStrategy: reconnectStrategy(options, events.closing),
      onError: (e) => {
        tracing.error(e);
        events.onError(e);
      },
      onReady: (createTimeMs) => {
        tracing.ready(createTimeMs);
        events.onReady();
      },
      onReconnecting: () => events.onReconnecting(),
      onEnd: () => events.onEnd(),
      onClosed: (reason, wasConnected) => tracing.closed(reason, wasConnected),
    });
  }

  get isReady(): boolean {
    return this.#connection.isReady;
  }

  get isOpen(): boolean {
    return this.#connection.isOpen;
  }

  connect(): Promise<void> {
    if (connectTrace.hasSubscribers) return this.tracing.connect(() => this.#connection.connect());
    return this.#connection.connect();
  }

  send(args: readonly RedisArgument[], handler: ReplyHandler): void {
    // Settles `handler` directly: no second promise per command. The encoder takes numbers.
    this.#connection.write(args, handler);
  }

  checkTransaction(): undefined {}

  /**
   * MULTI, the commands and EXEC, queued back to back on the shared connection (written in one
   * synchronous run, all or none, so nothing comes between them). A command the server refused
   * to queue aborts the whole transaction (EXECABORT, reported with that command's error);
   * errors of commands that ran are reported with the first of them (the others did run: Redis
   * has no rollback), unless `raw`: then EXEC's replies come as they are, errors among them.
   */
  async transaction(
    commands: readonly (readonly RedisArgument[])[],
    buffers: boolean,
    _routing?: RedisArgument,
    raw = false,
  ): Promise<unknown> {
    const queued = this.#connection.sendAll([['MULTI'], ...commands, ['EXEC']], buffers);
    // biome-ignore lint/style/noNonNullAssertion: sendAll gives one promise per command; EXEC's is the last
    const exec = queued.pop()!;
    for (const q of queued) q.catch(() => {});
    let replies: unknown;
    try {
      replies = await exec;
    } catch (error) {
      if (!(error instanceof ErrorReply)) throw error;
      const results = await Promise.allSettled(queued);
      const at = results.findIndex((r) => r.status === 'rejected');
      if (at < 1) throw error;
      const cause = (results[at] as PromiseRejectedResult).reason as Error;
      throw new ErrorReply(`${error.message} (transaction command ${at - 1}: ${cause.message})`);
    }
    return raw ? replies : execReplies(replies);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const subscriber = nodeRedisTemplate().duplicate(
      standaloneOptions(this.#o, this.#events.closing),
    ) as unknown as NodeRedisClient;
    subscriber.on('error', (e: unknown) => this.#events.onError(e));
    // Tracked before it connects, so close() also stops one that is still connecting.
    this.#subscribers.push(subscriber);
    const untrack = () => {
      const at = this.#subscribers.indexOf(subscriber);
      if (at >= 0) this.#subscribers.splice(at, 1);
    };
    try {
      const connectMs = this.#o.connectTimeoutMs;
      await within(
        subscriber.connect(),
        connectMs,
        () => new RedisTimeoutError(`SUBSCRIBE timed out after ${connectMs} ms connecting`, false),
      );
    } catch (error) {
      untrack();
      destroyQuietly(subscriber);
      throw mapError(error, 'SUBSCRIBE');
    }
    // The server's confirmation within the command deadline: a server that stalls (paused) after
    // the connect would otherwise hold the caller until it resumes (a cache's start, every call).
    const ms = this.#o.commandTimeoutMs;
    try {
      await within(
        subscriber.subscribe(channel, (message: string | Buffer, ch: string | Buffer) =>
          handler(String(message), String(ch)),
        ),
        ms,
        () => new RedisTimeoutError(`SUBSCRIBE timed out after ${ms} ms`, true, true),
      );
    } catch (error) {
      untrack();
      destroyQuietly(subscriber);
      throw mapError(error, 'SUBSCRIBE');
    }
    return async () => {
      untrack();
      if (subscriber.isOpen) {
        await subscriber.unsubscribe(channel);
        await subscriber.close();
      }
    };
  }

  withConnection<T>(fn: (lent: Lent) => Promise<T>): Promise<T> {
    this.#pool ??= new ConnectionPool({
      create: () => {
        const client = nodeRedisTemplate().duplicate(
          standaloneOptions(this.#o, this.#events.closing),
        ) as unknown as NodeRedisClient;
        client.on('error', (e: unknown) => this.#events.onError(e));
        return client;
      },
      maximum: this.#o.poolSize,
      acquireTimeoutMs: this.#o.commandTimeoutMs,
      connectTimeoutMs: this.#o.connectTimeoutMs,
    });
    return this.#pool.execute(fn);
  }

  expired(sentAfter: number, timeoutMs: number): void {
    this.#connection.suspectDead(sentAfter, timeoutMs);
  }

  async refreshTopology(): Promise<void> {}

  async close(ms: number, graceful: boolean): Promise<void> {
    const closers: Promise<unknown>[] = [];
    for (const s of this.#subscribers.splice(0)) {
      closers.push(s.isOpen ? closeOrDestroy(() => s.close(), s, ms) : Promise.resolve(destroyQuietly(s)));
    }
    if (this.#pool) closers.push(this.#pool.close(ms));
    const connection = this.#connection;
    if (connection.isOpen && graceful) closers.push(closeOrDestroy(() => connection.close(), connection, ms));
    else connection.destroy();
    await Promise.allSettled(closers);
  }
}
