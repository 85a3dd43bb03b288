/**
 * node-redis 6's `node:diagnostics_channel` channels, published for this package's own standalone
 * connection (connection.ts) exactly as node-redis 6.3.1 publishes them for its clients: the
 * tracing channels `node-redis:command`, `node-redis:batch` and `node-redis:connect` (through
 * `TracingChannel.tracePromise`, so start/end/asyncStart/asyncEnd/error come as it publishes
 * them), and the point events `node-redis:connection:ready`, `node-redis:connection:closed` and
 * `node-redis:error`, with node-redis's context shapes and values. An APM subscribed to
 * node-redis's channels sees these commands too. Cluster, Sentinel, the pool and pub/sub run on
 * node-redis, which publishes for them itself.
 *
 * node-redis's `sanitizeArgs` and `generateClientId` are not exported from `@redis/client`'s
 * entry, so they are ported here (test/node-redis-channels.integration.test.ts checks the port
 * against node-redis's own functions). Nothing here runs unless someone subscribes: callers test
 * the channel's `hasSubscribers` first.
 */
import { randomBytes } from 'node:crypto';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import {
  type BatchCommandTraceContext,
  type BatchOperationContext,
  CHANNELS,
  type ClientErrorEvent,
  type CommandTraceContext,
  type ConnectionClosedEvent,
  type ConnectionReadyEvent,
  type ConnectTraceContext,
} from '@redis/client';

export type { BatchCommandTraceContext, BatchOperationContext, CommandTraceContext, ConnectTraceContext };

/** `node-redis:command`: one command (in a pipeline: with its `batchMode` and `batchSize`). */
export const commandTrace = tracingChannel<unknown, CommandTraceContext | BatchCommandTraceContext>(
  CHANNELS.TRACE_COMMAND,
);
/** `node-redis:batch`: a pipeline or a MULTI/EXEC transaction. */
export const batchTrace = tracingChannel<unknown, BatchOperationContext>(CHANNELS.TRACE_BATCH);
/** `node-redis:connect`: the first connection of a client. */
export const connectTrace = tracingChannel<unknown, ConnectTraceContext>(CHANNELS.TRACE_CONNECT);
const readyChannel = channel(CHANNELS.CONNECTION_READY);
const closedChannel = channel(CHANNELS.CONNECTION_CLOSED);
const errorChannel = channel(CHANNELS.ERROR);

/**
 * How many arguments after the name node-redis shows per command (-1: all; the rest become `?`).
 * Ported from node-redis 6.3.1 (dist/lib/client/tracing.js), itself adapted from
 * @opentelemetry/redis-common (Apache 2.0).
 */
const SERIALIZATION_SUBSETS: readonly { regex: RegExp; args: number }[] = [
  { regex: /^ECHO/i, args: 0 },
  { regex: /^(LPUSH|MSET|PFA|PUBLISH|RPUSH|SADD|SET|SPUBLISH|XADD|ZADD)/i, args: 1 },
  { regex: /^(HSET|HMSET|LSET|LINSERT)/i, args: 2 },
  {
    regex:
      /^(ACL|BIT|B[LRZ]|CLIENT|CLUSTER|CONFIG|COMMAND|DECR|DEL|EVAL|EX|FUNCTION|GEO|GET|HINCR|HMGET|HSCAN|INCR|L[TRLM]|MEMORY|P[EFISTU]|RPOP|S[CDIMORSU]|XACK|X[CDGILPRT]|Z[CDILMPRS])/i,
    args: -1,
  },
];

/**
 * node-redis's `sanitizeArgs`, ported: the command's arguments as strings, values a command may
 * carry secrets or user data in replaced by `?` (`AUTH user ?`, `SET key ?`), as node-redis puts
 * them in its trace contexts.
 */
export function sanitizeArgs(args: readonly unknown[]): readonly string[] {
  const n = args.length;
  if (n === 0) return [];
  const commandName = String(args[0]);
  const allowedArgCount = allowedArgs(commandName);
  const result = new Array<string>(n);
  result[0] = commandName;
  for (let i = 1; i < n; i++)
    result[i] = allowedArgCount === -1 || i <= allowedArgCount ? String(args[i]) : '?';
  return result;
}

/** Command names whose allowed argument count is remembered (past it: matched every time). */
const MAX_CACHED_NAMES = 512;
const allowedArgsCache = new Map<string, number>();

/** How many arguments of `commandName` {@link sanitizeArgs} shows, from the first subset that matches. */
function allowedArgs(commandName: string): number {
  const cached = allowedArgsCache.get(commandName);
  if (cached !== undefined) return cached;
  let allowed = 0;
  for (const subset of SERIALIZATION_SUBSETS) {
    if (subset.regex.test(commandName)) {
      allowed = subset.args;
      break;
    }
  }
  if (allowedArgsCache.size < MAX_CACHED_NAMES) allowedArgsCache.set(commandName, allowed);
  return allowed;
}

const MAX_ID_LENGTH = 128;

/**
 * node-redis's `generateClientId`, ported: `host:port/db-<8 hex>`, shortened to 128 characters
 * (`prefix...-<hash>`) when longer.
 */
export function generateClientId(host: string, port: number, db: number): string {
  const suffix = `-${randomBytes(4).toString('hex')}`;
  const prefix = `${host}:${port}/${db}`;
  if (prefix.length + suffix.length <= MAX_ID_LENGTH) return `${prefix}${suffix}`;
  return `${prefix.substring(0, MAX_ID_LENGTH - 3 - suffix.length)}...${suffix}`;
}

/** Why a connection closed, in node-redis's words. */
export type ClosedReason = 'error' | 'application_close';

/**
 * One connection's publisher: its `clientId` (one per connection, node-redis's format) and the
 * server it talks to, in every context. The trace methods run `run` under
 * `TracingChannel.tracePromise`; callers check the channel's `hasSubscribers` before calling
 * them, so nothing is built when nobody listens.
 */
export class NodeRedisTracing {
  readonly clientId: string;

  constructor(
    readonly serverAddress: string,
    readonly serverPort: number,
    readonly database: number,
  ) {
    this.clientId = generateClientId(serverAddress, serverPort, database);
  }

  /**
   * One command on `node-redis:command`; inside a pipeline of `batchSize` commands its context
   * also has `batchMode: 'PIPELINE'` and `batchSize`, as node-redis gives them (node-redis
   * publishes no command events inside a MULTI).
   */
  command<T>(args: readonly unknown[], batchSize: number | undefined, run: () => Promise<T>): Promise<T> {
    const command = String(args[0]).toUpperCase();
    if (batchSize === undefined) {
      const context: CommandTraceContext = {
        command,
        args: sanitizeArgs(args),
        database: this.database,
        clientId: this.clientId,
        serverAddress: this.serverAddress,
        serverPort: this.serverPort,
      };
      return commandTrace.tracePromise(run, context);
    }
    // Built whole (not spread from the one above): one object, one shape per kind of context.
    const inBatch: BatchCommandTraceContext = {
      command,
      args: sanitizeArgs(args),
      database: this.database,
      clientId: this.clientId,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      batchMode: 'PIPELINE',
      batchSize,
    };
    return commandTrace.tracePromise(run, inBatch);
  }

  /**
   * A pipeline or a transaction on `node-redis:batch` when it has subscribers (else `run` as it
   * is: its commands may still be traced on `node-redis:command`, as node-redis does).
   */
  batch<T>(batchMode: 'MULTI' | 'PIPELINE', batchSize: number, run: () => Promise<T>): Promise<T> {
    if (!batchTrace.hasSubscribers) return run();
    return batchTrace.tracePromise(run, {
      batchMode,
      batchSize,
      database: this.database,
      clientId: this.clientId,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
    });
  }

  /**
   * A pipeline as node-redis traces one: `node-redis:batch` around it, whose outcome is the first
   * failed command's error (node-redis's execAsPipeline rejects with it), and each command (sent
   * by `send`, traced on `node-redis:command` with `batchMode` and `batchSize`) inside it.
   */
  async pipeline<T>(batchSize: number, send: () => Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
    let sent: Promise<T>[] = [];
    const batch = this.batch('PIPELINE', batchSize, () => {
      sent = send();
      return Promise.all(sent);
    });
    // Handled at once (an early failure must not be unhandled); awaited last, so the batch's
    // asyncEnd comes before the caller continues, as with node-redis.
    const batchDone = batch.then(
      () => {},
      () => {},
    );
    const settled = await Promise.allSettled(sent);
    await batchDone;
    return settled;
  }

  /** The first connection, on `node-redis:connect`. */
  connect<T>(run: () => Promise<T>): Promise<T> {
    return connectTrace.tracePromise(run, {
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      clientId: this.clientId,
    });
  }

  /** A connection became ready (also after a reconnect); `createTimeMs` from socket to ready. */
  ready(createTimeMs: number): void {
    if (!readyChannel.hasSubscribers) return;
    const event: ConnectionReadyEvent = {
      clientId: this.clientId,
      serverAddress: this.serverAddress,
      serverPort: this.serverPort,
      createTimeMs,
    };
    readyChannel.publish(event);
  }

  /** A ready connection broke (`error`), or the application closed the client. */
  closed(reason: ClosedReason, wasConnected: boolean): void {
    if (!closedChannel.hasSubscribers) return;
    const event: ConnectionClosedEvent = { clientId: this.clientId, reason, wasConnected };
    closedChannel.publish(event);
  }

  /** What node-redis emits as a client `error` (a failed attempt, a lost connection). */
  error(error: unknown): void {
    if (!errorChannel.hasSubscribers) return;
    const event: ClientErrorEvent = {
      error: error as Error,
      origin: 'client',
      internal: false,
      clientId: this.clientId,
    };
    errorChannel.publish(event);
  }
}
