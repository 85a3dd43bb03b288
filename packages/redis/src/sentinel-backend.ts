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

/** The master connection's options as createSentinel types them (without `commandOptions`). */
type NodeClientOptions = NonNullable<Parameters<typeof createSentinel>[0]['nodeClientOptions']>;

/** A transaction's name in errors. */
const EXEC: readonly RedisArgument[] = ['EXEC'];

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
      // commandOptions here too (timeout off): commands go straight to the master connection
      // (see #once), where node-redis's default 5 s timeout armed a signal per command until it
      // was written: half the throughput at c=100 (bench:redis, deployments). Untyped there, and
      // read all the same (the bench shows it).
      nodeClientOptions: { ...nodeCommon, commandOptions, database: options.db, socket } as NodeClientOptions,
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
    this.#once(args, isReadonlyCommand(args), handler, (client) => client.sendCommand(wire, options));
  }

  /**
   * Runs `work` on the master connection at most once, and never after the caller stopped
   * waiting, then settles `target` (the client's handler, which is also its deadline entry:
   * `done` once settled or expired). node-redis's Sentinel client holds a command while its
   * master connection is down (until it has found a master again, seconds into a failover, long
   * after our deadline told the caller it failed) and may send it again after its connection
   * failed, though the master may have run it. Here a command is refused at once (not sent:
   * retryable) while the master connection is down, as everywhere else with no offline queue; one
   * held while node-redis re-reads a healthy topology goes out only if `target` is not done; a
   * failed one reports its own error. node-redis still sees that error, so it looks for the
   * master again as before; its next attempt at the command is turned away. No promise or name of
   * its own per command: this is the hot path.
   */
  #once(
    args: readonly RedisArgument[],
    readonly: boolean,
    target: ReplyHandler & Partial<Settled>,
    work: (client: NodeRedisClient) => Promise<unknown>,
  ): void {
    let tried = false;
    let settled = false;
    const attempt = (client: NodeRedisClient): Promise<unknown> => {
      this.#master = client;
      if (tried || settled || target.done === true) return Promise.reject(STOP);
      tried = true;
      return work(client).then(
        (reply) => {
          settled = true;
          target.settle(reply);
        },
        (error: unknown) => {
          settled = true;
          // A master that became a replica ran nothing (node-redis would send it elsewhere).
          const demoted = String((error as { message?: unknown })?.message).startsWith('READONLY');
          target.fail(
            demoted
              ? connectionError(`${commandName(args)} failed: the master became a replica (not run)`, error, {
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
      target.fail(error);
    });
    // node-redis calls `attempt` at once when its master connection is ready; else it waits.
    if (!tried && !settled && this.#master !== undefined && !this.#master.isReady) {
      settled = true;
      target.fail(
        connectionError(
          `${commandName(args)} failed: no Sentinel master is connected (not sent)`,
          undefined,
          {
            readonly,
          },
        ),
      );
    }
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
    return new Promise((resolve, reject) => {
      const target = {
        settle: resolve,
        fail: reject,
        get done() {
          return deadline.done;
        },
      };
      this.#once(EXEC, false, target, (client) => {
        const multi = client.multi();
        for (const c of commands) multi.addCommand(toArgs(c));
        return multi.exec();
      });
    });
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
