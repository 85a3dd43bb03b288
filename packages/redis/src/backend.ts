/**
 * The seam between the client (validation, deadlines, events) and a deployment's connections:
 * a standalone server on this package's own connection, a Cluster or a Sentinel group on
 * node-redis. Nothing outside {@link createBackend} branches on the kind.
 */
import { ClusterBackend } from './cluster-backend.js';
import type { RedisArgument } from './commands.js';
import type { ReplyHandler } from './connection.js';
import type { Lent } from './connection-pool.js';
import type { NodeRedisTracing } from './node-redis-tracing.js';
import type { ResolvedOptions } from './options.js';
import { SentinelBackend } from './sentinel-backend.js';
import { StandaloneBackend } from './standalone-backend.js';

export type { ReplyHandler } from './connection.js';

export type DeploymentKind = 'standalone' | 'cluster' | 'sentinel';

export type MessageHandler = (message: string, channel: string) => void;

/** A call's deadline entry: `done` once it settled or its deadline passed. */
export interface Settled {
  readonly done: boolean;
}

/** What a backend tells the client about its connections. */
export interface BackendEvents {
  /** `failsAttempt` false: one of several tries of an attempt failed (its waiters keep waiting). */
  onError(error: unknown, failsAttempt?: boolean): void;
  /** A connection became ready (also told after a reconnect, where the backend knows). */
  onReady(): void;
  onReconnecting(): void;
  /** The backend gave up: it will not connect again. */
  onEnd(): void;
  /** True once the client is closing: no more reconnect attempts. */
  closing(): boolean;
}

export interface Backend {
  readonly kind: DeploymentKind;
  /** Commands may be sent now. */
  readonly isReady: boolean;
  /** Connected, connecting or reconnecting: not closed. */
  readonly isOpen: boolean;
  /**
   * Publishes node-redis's diagnostics channels for this backend's own connection (standalone);
   * undefined where node-redis carries the commands and publishes them itself.
   */
  readonly tracing?: NodeRedisTracing;
  /** Resolves once the first connection is ready (retrying meanwhile, reporting each failure). */
  connect(): Promise<void>;
  /**
   * Sends one command; `handler` is settled exactly once, with the reply (its bulk strings as
   * Buffers when `handler.buffers`) or the error. `routing`: the key to route by in a Cluster.
   * `numbers`: whether `args` holds numbers (node-redis takes strings and Buffers only).
   */
  send(
    args: readonly RedisArgument[],
    handler: ReplyHandler,
    routing: RedisArgument | undefined,
    numbers: boolean,
  ): void;
  /**
   * Checks a transaction before anything is sent (INVALID_ARGUMENT: keys in several Cluster
   * slots, Buffers where node-redis would decode EXEC as text); returns the key to route by.
   */
  checkTransaction(
    commands: readonly (readonly RedisArgument[])[],
    buffers: boolean,
  ): RedisArgument | undefined;
  /**
   * MULTI, the commands, EXEC; resolves with EXEC's replies. `routing`: the slot's key in a
   * Cluster. `raw` (only where `tracing` is set): errors of commands that ran stay among the
   * replies instead of rejecting. `deadline`: not to be sent once it is done.
   */
  transaction(
    commands: readonly (readonly RedisArgument[])[],
    buffers: boolean,
    routing: RedisArgument | undefined,
    raw: boolean,
    deadline: Settled,
  ): Promise<unknown>;
  /** Subscribes on a connection of its own; resolves with a function that unsubscribes. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /** Runs `fn` with a pooled connection of its own (standalone only). */
  withConnection<T>(fn: (lent: Lent) => Promise<T>): Promise<T>;
  /** A command's deadline passed; `sentAfter` is a performance.now() from before it was sent. */
  expired(sentAfter: number, timeoutMs: number): void;
  /** Re-reads a Cluster's slot map; no-op elsewhere. */
  refreshTopology(): Promise<void>;
  /** Closes every connection: gracefully when `graceful`, destroying what is not closed within `ms`. */
  close(ms: number, graceful: boolean): Promise<void>;
}

/** The one place that picks the deployment. */
export function createBackend(options: ResolvedOptions, events: BackendEvents): Backend {
  if (options.cluster) return new ClusterBackend(options, options.cluster, events);
  if (options.sentinel) return new SentinelBackend(options, options.sentinel, events);
  return new StandaloneBackend(options, events);
}
