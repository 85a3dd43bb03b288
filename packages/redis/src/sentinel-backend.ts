/** A master found through Sentinel, on node-redis (which follows failovers). */
import { createSentinel, type RedisSentinelType } from '@redis/client';
import type { Backend, BackendEvents, MessageHandler, ReplyHandler, Settled } from './backend.js';
import { commandName, isReadonlyCommand, type RedisArgument, toArgs } from './commands.js';
import { type EventSource, logSentinelTopology } from './connection-log.js';
import { connectionError } from './errors.js';
import {
  BUFFERS,
  closeClient,
  type NodeRedisClient,
  nodeRedisCommon,
  noPool,
  refuseBufferedTransaction,
  socketOptions,
  subscribeWithin,
} from './node-redis-options.js';
import type { ResolvedOptions } from './options.js';

/** RedisSentinel._execute (internal, pinned 6.3.1; test/vendor-internals.test.ts checks it). */
type Execute = <T>(readonly: boolean, fn: (client: NodeRedisClient) => Promise<T>) => Promise<T>;

/** Thrown (not an Error) to end node-redis's Sentinel retry loop without another attempt. */
const STOP = Symbol('voelgoed: not again');

export class SentinelBackend implements Backend {
  readonly kind = 'sentinel';
  readonly #o: ResolvedOptions;
  readonly #client: RedisSentinelType;
  /** The master connection node-redis last handed a command (it replaces it after a failover). */
  #master: NodeRedisClient | undefined;

  constructor(
    options: ResolvedOptions,
    sentinel: NonNullable<ResolvedOptions['sentinel']>,
    events: BackendEvents,
  ) {
    this.#o = options;
    const { commandOptions, RESP, ...nodeCommon } = nodeRedisCommon(options);
    const socket = socketOptions(options, events.closing);
    this.#client = createSentinel({
      name: sentinel.name,
      commandOptions,
      RESP,
      sentinelRootNodes: sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
      nodeClientOptions: { ...nodeCommon, database: options.db, socket },
      sentinelClientOptions: {
        ...(sentinel.sentinelPassword === undefined ? {} : { password: sentinel.sentinelPassword }),
        socket,
      },
      masterPoolSize: 1,
      // A connection of the sentinel object's own: without it, node-redis lends its one master
      // connection to whichever commands are in flight and hands it over between them (about
      // two thirds of the throughput at c=100 in bench:redis's deployments section).
      reserveClient: true,
    }) as unknown as RedisSentinelType;
    // Until a master is found, node-redis reports each listed sentinel it could not ask (down, or
    // no sentinel) and goes on to the next: the attempt has failed once all of them have. (Each
    // also reports the sentinel's socket error as a string first: not counted.)
    let failedSentinels = 0;
    this.#client.on('error', (e: unknown) => {
      if (this.#client.isReady || typeof e === 'string') return events.onError(e, this.#client.isReady);
      failedSentinels++;
      const all = failedSentinels >= sentinel.sentinels.length;
      if (all) failedSentinels = 0;
      events.onError(e, all);
    });
    logSentinelTopology(this.#client as unknown as EventSource, options.logger, sentinel.name);
  }

  get isReady(): boolean {
    return this.#client.isReady;
  }

  get isOpen(): boolean {
    return this.#client.isOpen;
  }

  async connect(): Promise<void> {
    await this.#client.connect();
    // Learns the master connection now (nothing is sent): a client that has sent nothing yet
    // refuses at once too when that connection goes down.
    this.#execute(false, (client) => {
      this.#master = client;
      return Promise.resolve();
    }).catch(() => {});
  }

  /** node-redis's Sentinel entry point below `sendCommand` and `multi().exec()` (pinned 6.3.1). */
  #execute<T>(readonly: boolean, fn: (client: NodeRedisClient) => Promise<T>): Promise<T> {
    return (this.#client as unknown as { _execute: Execute })._execute.call(
      this.#client,
      readonly,
      fn,
    ) as Promise<T>;
  }

  send(
    args: readonly RedisArgument[],
    handler: ReplyHandler,
    _routing: RedisArgument | undefined,
    numbers: boolean,
  ): void {
    const wire = numbers ? toArgs(args) : (args as (string | Buffer)[]);
    const options = handler.buffers ? BUFFERS : undefined;
    // The client's handler is its deadline entry too (a PendingCommand): `done` once settled or expired.
    const gone = () => (handler as Partial<Settled>).done === true;
    this.#once(commandName(args), isReadonlyCommand(args), gone, (client) =>
      client.sendCommand(wire, options),
    ).then(
      (reply) => handler.settle(reply),
      (error: unknown) => handler.fail(error),
    );
  }

  /**
   * Runs `work` on the master connection at most once, and never after the caller stopped
   * waiting. node-redis's Sentinel client holds a command while its master connection is down
   * (until it has found a master again, seconds into a failover, long after our deadline told
   * the caller it failed) and may send it again after its connection failed, though the master
   * may have run it. Here a command is refused at once (not sent: retryable) while the master
   * connection is down, as everywhere else with no offline queue; one held while node-redis
   * re-reads a healthy topology goes out only if its deadline has not passed (`gone`); a failed
   * one reports its own error. node-redis still sees that error, so it looks for the master
   * again as before; its next attempt at the command is turned away.
   */
  #once<T>(
    name: string,
    readonly: boolean,
    gone: () => boolean,
    work: (client: NodeRedisClient) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let tried = false;
      let settled = false;
      const attempt = (client: NodeRedisClient): Promise<T> => {
        this.#master = client;
        if (tried || settled || gone()) return Promise.reject(STOP);
        tried = true;
        return work(client).then(
          (reply) => {
            settled = true;
            resolve(reply);
            return reply;
          },
          (error: unknown) => {
            settled = true;
            // A master that became a replica ran nothing (node-redis would send it elsewhere).
            const demoted = String((error as { message?: unknown })?.message).startsWith('READONLY');
            reject(
              demoted
                ? connectionError(`${name} failed: the master became a replica (not run)`, error, {
                    readonly,
                  })
                : error,
            );
            throw error;
          },
        );
      };
      this.#execute(readonly, attempt).catch((error: unknown) => {
        if (settled || error === STOP) return;
        settled = true;
        reject(error);
      });
      // node-redis calls `attempt` at once when its master connection is ready; else it waits.
      if (!tried && !settled && this.#master !== undefined && !this.#master.isReady) {
        settled = true;
        reject(
          connectionError(`${name} failed: no Sentinel master is connected (not sent)`, undefined, {
            readonly,
          }),
        );
      }
    });
  }

  checkTransaction(_commands: readonly (readonly RedisArgument[])[], buffers: boolean): undefined {
    if (buffers) refuseBufferedTransaction(this.kind);
  }

  transaction(
    commands: readonly (readonly RedisArgument[])[],
    _buffers: boolean,
    _routing: RedisArgument | undefined,
    _raw: boolean,
    deadline: Settled,
  ): Promise<unknown> {
    return this.#once(
      'EXEC',
      false,
      () => deadline.done,
      (client) => {
        const multi = client.multi();
        for (const c of commands) multi.addCommand(toArgs(c));
        return multi.exec();
      },
    );
  }

  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    return subscribeWithin(this.#client, channel, handler, this.#o.commandTimeoutMs);
  }

  withConnection = noPool;

  expired(): void {}

  async refreshTopology(): Promise<void> {}

  close(ms: number, graceful: boolean): Promise<void> {
    return closeClient(this.#client, ms, graceful);
  }
}
