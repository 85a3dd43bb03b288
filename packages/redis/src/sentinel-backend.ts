/** A master found through Sentinel, on node-redis (which follows failovers). */
import { createSentinel, type RedisSentinelType } from '@redis/client';
import type { Backend, BackendEvents, MessageHandler, ReplyHandler } from './backend.js';
import { isReadonlyCommand, type RedisArgument, toArgs } from './commands.js';
import { type EventSource, logSentinelTopology } from './connection-log.js';
import {
  BUFFERS,
  closeClient,
  nodeRedisCommon,
  noPool,
  refuseBufferedTransaction,
  socketOptions,
  subscribeWithin,
} from './node-redis-options.js';
import type { ResolvedOptions } from './options.js';

export class SentinelBackend implements Backend {
  readonly kind = 'sentinel';
  readonly #o: ResolvedOptions;
  readonly #client: RedisSentinelType;

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
    this.#client.on('error', (e: unknown) => events.onError(e));
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
  }

  send(
    args: readonly RedisArgument[],
    handler: ReplyHandler,
    _routing: RedisArgument | undefined,
    numbers: boolean,
  ): void {
    const wire = numbers ? toArgs(args) : (args as (string | Buffer)[]);
    this.#client.sendCommand(isReadonlyCommand(args), wire, handler.buffers ? BUFFERS : undefined).then(
      (reply) => handler.settle(reply),
      (error: unknown) => handler.fail(error),
    );
  }

  checkTransaction(_commands: readonly (readonly RedisArgument[])[], buffers: boolean): undefined {
    if (buffers) refuseBufferedTransaction(this.kind);
  }

  transaction(commands: readonly (readonly RedisArgument[])[]): Promise<unknown> {
    const multi = this.#client.multi();
    for (const c of commands) multi.addCommand(isReadonlyCommand(c), toArgs(c));
    return multi.exec();
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
