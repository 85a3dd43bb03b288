/** A Redis Cluster on node-redis: commands routed by key, the slot map refreshed on a timer too. */
import { createCluster, type RedisClusterType } from '@redis/client';
import type { Backend, BackendEvents, MessageHandler, ReplyHandler } from './backend.js';
import { isReadonlyCommand, keyArg, type RedisArgument, routingKey, toClusterArgs } from './commands.js';
import { type EventSource, logClusterNodes } from './connection-log.js';
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
import { sameSlotKey } from './slots.js';

export class ClusterBackend implements Backend {
  readonly kind = 'cluster';
  readonly #o: ResolvedOptions;
  readonly #refreshMs: number;
  readonly #client: RedisClusterType;
  #topologyTimer: NodeJS.Timeout | undefined;

  constructor(
    options: ResolvedOptions,
    cluster: NonNullable<ResolvedOptions['cluster']>,
    events: BackendEvents,
  ) {
    this.#o = options;
    this.#refreshMs = cluster.topologyRefreshMs;
    const socket = socketOptions(options, events.closing);
    this.#client = createCluster({
      rootNodes: cluster.nodes.map((n) => ({ socket: { host: n.host, port: n.port, ...socket } })),
      defaults: { ...nodeRedisCommon(options), socket },
      commandOptions: { timeout: 0 },
      RESP: 2,
    }) as unknown as RedisClusterType;
    this.#client.on('error', (e: unknown) => events.onError(e));
    logClusterNodes(this.#client as unknown as EventSource, options.logger);
  }

  get isReady(): boolean {
    return this.#client.isReady;
  }

  get isOpen(): boolean {
    return this.#client.isOpen;
  }

  async connect(): Promise<void> {
    await this.#client.connect();
    if (this.#refreshMs > 0 && this.#topologyTimer === undefined) {
      // Best effort: a refresh that fails (nodes gone, the client closing) waits for the next one
      // or a MOVED. Left unhandled, its rejection would crash the process.
      this.#topologyTimer = setInterval(() => this.refreshTopology().catch(() => {}), this.#refreshMs);
      this.#topologyTimer.unref();
    }
  }

  send(
    args: readonly RedisArgument[],
    handler: ReplyHandler,
    routing: RedisArgument | undefined,
    numbers: boolean,
  ): void {
    const wire = toClusterArgs(args, numbers);
    this.#client
      .sendCommand(
        keyArg(routing ?? routingKey(args)),
        isReadonlyCommand(args),
        wire,
        handler.buffers ? BUFFERS : undefined,
      )
      .then(
        (reply) => handler.settle(reply),
        (error: unknown) => handler.fail(error),
      );
  }

  checkTransaction(
    commands: readonly (readonly RedisArgument[])[],
    buffers: boolean,
  ): RedisArgument | undefined {
    if (buffers) refuseBufferedTransaction(this.kind);
    return sameSlotKey(commands);
  }

  transaction(
    commands: readonly (readonly RedisArgument[])[],
    _buffers: boolean,
    routing: RedisArgument | undefined,
  ): Promise<unknown> {
    const multi = this.#client.multi(keyArg(routing));
    for (const c of commands) multi.addCommand(keyArg(routingKey(c)), isReadonlyCommand(c), toClusterArgs(c));
    return multi.exec();
  }

  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    return subscribeWithin(this.#client, channel, handler, this.#o.commandTimeoutMs);
  }

  withConnection = noPool;

  expired(): void {}

  /** Re-reads the slot map (node-redis itself only does so on MOVED). */
  async refreshTopology(): Promise<void> {
    const slots = (this.#client as unknown as { _slots?: { rediscover?: (c?: unknown) => Promise<void> } })
      ._slots;
    if (!slots?.rediscover || !this.#client.isReady) return;
    await slots.rediscover(this.#client.masters[0]?.client);
  }

  async close(ms: number, graceful: boolean): Promise<void> {
    if (this.#topologyTimer) clearInterval(this.#topologyTimer);
    await closeClient(this.#client, ms, graceful);
  }
}
