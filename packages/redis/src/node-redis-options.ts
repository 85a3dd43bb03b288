/**
 * node-redis settings shared by every node-redis client of ours (Cluster, Sentinel, the pool and
 * pub/sub subscribers of a standalone client), and small helpers around its clients.
 */
import { createClient, RESP_TYPES, type RedisClientType } from '@redis/client';
import { invalidArgument, mapError, RedisTimeoutError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** A standalone node-redis client (pool connections, subscribers). */
export type NodeRedisClient = RedisClientType;

/** node-redis's type mapping that reads bulk strings as Buffers. */
export const BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

/** Delay before reconnect attempt `retries`: full jitter over a capped exponential; false once closing. */
export function reconnectStrategy(o: ResolvedOptions, closing: () => boolean) {
  return (retries: number): number | false => {
    if (closing()) return false;
    const cap = Math.min(o.maxDelayMs, o.minDelayMs * 2 ** Math.min(retries, 16));
    return Math.max(o.minDelayMs, Math.floor(Math.random() * cap));
  };
}

export function socketOptions(o: ResolvedOptions, closing: () => boolean) {
  return {
    connectTimeout: o.connectTimeoutMs,
    reconnectStrategy: reconnectStrategy(o, closing),
    ...(o.tls ? { tls: true as const, ...o.tls } : {}),
  };
}

/** Options every node-redis client of ours shares. */
export function nodeRedisCommon(o: ResolvedOptions) {
  return {
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.clientName === undefined ? {} : { name: o.clientName }),
    // An outage fails commands at once (ConnectionError) instead of piling them up.
    disableOfflineQueue: true,
    // node-redis's own 5 s default timeout arms an AbortSignal timer per command (costly) and
    // stops counting once the command is written; our swept deadline replaces it.
    commandOptions: { timeout: 0 },
    // RESP2, as the standalone connection speaks: the same reply shapes (HGETALL a flat list,
    // not a map) on every deployment, for command() and for the typed methods' transformers.
    RESP: 2 as const,
  };
}

/** Options of the pool's connections and the subscribers of a standalone client. */
export function standaloneOptions(o: ResolvedOptions, closing: () => boolean) {
  return {
    ...nodeRedisCommon(o),
    database: o.db,
    socket: { host: o.host, port: o.port, ...socketOptions(o, closing) },
  };
}

let template: NodeRedisClient | undefined;

/**
 * A node-redis client that is never connected, only duplicated. `createClient` builds a class
 * with every command on it (about 20 ms, far more on a busy machine) whenever its options differ
 * from the previous call's; `duplicate()` reuses the class. Without this, the first `subscribe()`
 * of each client (a lock manager subscribes on every node) stalled the event loop mid-run.
 */
export function nodeRedisTemplate(): NodeRedisClient {
  template ??= createClient({
    RESP: 2,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
  }) as unknown as NodeRedisClient;
  return template;
}

/** Destroys a node-redis client or pool, ignoring "not open" and similar errors. */
export function destroyQuietly(target: { destroy(): unknown }): void {
  try {
    const result = target.destroy();
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // already closed or never opened
  }
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes gracefully, or destroys once `ms` have passed or the close failed. */
export async function closeOrDestroy(
  close: () => Promise<unknown>,
  target: { destroy(): unknown },
  ms: number,
): Promise<void> {
  await within(Promise.resolve().then(close), ms, () => new Error('close timed out')).catch(() =>
    destroyQuietly(target),
  );
}

/** node-redis decodes a multi's EXEC reply without the type mapping: bytes would be lost. */
export function refuseBufferedTransaction(kind: string): never {
  throw invalidArgument(
    `returnBuffers in a transaction needs a standalone server (node-redis decodes a ${kind} EXEC reply as text); read binary values with command() or pipeline()`,
  );
}

/** The listener and unsubscribe of a Cluster or Sentinel client (node-redis's pub/sub). */
interface NodeRedisPubSub {
  subscribe(
    channel: string,
    listener: (message: string | Buffer, channel: string | Buffer) => void,
  ): Promise<unknown>;
  unsubscribe(
    channel: string,
    listener: (message: string | Buffer, channel: string | Buffer) => void,
  ): Promise<unknown>;
}

/**
 * Subscribes through a node-redis Cluster or Sentinel client within `ms`; resolves with the
 * function that unsubscribes.
 */
export async function subscribeWithin(
  client: NodeRedisPubSub,
  channel: string,
  handler: (message: string, channel: string) => void,
  ms: number,
): Promise<() => Promise<void>> {
  const listener = (message: string | Buffer, ch: string | Buffer) => handler(String(message), String(ch));
  try {
    await within(
      client.subscribe(channel, listener),
      ms,
      () => new RedisTimeoutError(`SUBSCRIBE timed out after ${ms} ms`, true, true),
    );
  } catch (error) {
    throw mapError(error, 'SUBSCRIBE');
  }
  return async () => {
    await client.unsubscribe(channel, listener);
  };
}

/** Closes a node-redis client: gracefully within `ms` when it is open and `graceful`, else destroys it. */
export async function closeClient(
  client: { isOpen: boolean; close(): Promise<unknown>; destroy(): unknown },
  ms: number,
  graceful: boolean,
): Promise<void> {
  if (client.isOpen && graceful) await closeOrDestroy(() => client.close(), client, ms);
  else destroyQuietly(client);
}

/** `withConnection` of a deployment without a pool. */
export function noPool<T>(): Promise<T> {
  return Promise.reject(invalidArgument('withConnection is available on a standalone connection only'));
}
