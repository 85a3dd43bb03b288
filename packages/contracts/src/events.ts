import { type Channel, channel } from 'node:diagnostics_channel';

/**
 * Telemetry events. Adapters publish on `node:diagnostics_channel` (the convention undici and
 * fastify use); `@voelgoed/telemetry` subscribes. Payloads never hold keys, values, URLs with
 * query strings, or secrets: only bounded, low-cardinality facts.
 */
export const Channels = {
  redisCommand: 'voelgoed:redis:command',
  lockAcquire: 'voelgoed:lock:acquire',
  lockRelease: 'voelgoed:lock:release',
  lockExtend: 'voelgoed:lock:extend',
  lockLost: 'voelgoed:lock:lost',
  httpRequest: 'voelgoed:http:request',
  httpRetry: 'voelgoed:http:retry',
  httpCircuit: 'voelgoed:http:circuit',
  httpBulkhead: 'voelgoed:http:bulkhead',
  storageOperation: 'voelgoed:storage:operation',
  queueJob: 'voelgoed:queue:job',
} as const;

export type ChannelName = (typeof Channels)[keyof typeof Channels];

export type Outcome = 'ok' | 'error';

/** `voelgoed:redis:command`: one per command (pipeline commands included), name only. */
export interface RedisCommandEvent {
  /** Upper-case command name (`GET`, `EVALSHA`); never keys or arguments. */
  command: string;
  /** `host:port` of the server or a deployment name; never credentials. */
  target: string;
  durationMs: number;
  outcome: Outcome;
  errorCode?: string;
}

/** `voelgoed:lock:acquire`: one per `acquire` call, after it settles. */
export interface LockAcquireEvent {
  /** How many resources were asked for (not their names). */
  resourceCount: number;
  /** Time from the call to the lock being held (or to giving up), ms. */
  waitMs: number;
  attempts: number;
  outcome: 'acquired' | 'timeout' | 'error';
  errorCode?: string;
}

/** `voelgoed:lock:release`. */
export interface LockReleaseEvent {
  resourceCount: number;
  /** How long the lock was held, ms. */
  heldMs: number;
  /** `released`, or `not_owner` when it had already expired or been taken over. */
  outcome: 'released' | 'not_owner' | 'error';
  errorCode?: string;
}

/** `voelgoed:lock:extend`. */
export interface LockExtendEvent {
  resourceCount: number;
  durationMs: number;
  /** `auto` for the watchdog in `withLock`, `manual` for `lock.extend()`. */
  trigger: 'auto' | 'manual';
  outcome: Outcome;
  errorCode?: string;
}

/** `voelgoed:lock:lost`: a held lock could not be kept. */
export interface LockLostEvent {
  resourceCount: number;
  heldMs: number;
  reason: 'extend_failed' | 'expired';
}

/** `voelgoed:http:request`: one per attempt. */
export interface HttpRequestEvent {
  method: string;
  /** `scheme://host:port`; never path or query. */
  origin: string;
  /** Response status, absent when none arrived. */
  status?: number;
  durationMs: number;
  /** 1 for the first attempt. */
  attempt: number;
  outcome: Outcome;
  errorCode?: string;
  /** A route template the caller named (e.g. `/orders/:id`); never a raw path. Unbounded sets are folded by telemetry. */
  route?: string;
}

/** `voelgoed:http:retry`: before a retry's wait. */
export interface HttpRetryEvent {
  method: string;
  origin: string;
  /** The attempt about to be made (2 for the first retry). */
  attempt: number;
  delayMs: number;
  /** A status code as text, or an error code. */
  reason: string;
}

/** `voelgoed:http:circuit`: a breaker changed state. */
export interface HttpCircuitEvent {
  origin: string;
  from: 'closed' | 'open' | 'half_open';
  to: 'closed' | 'open' | 'half_open';
}

/** `voelgoed:http:bulkhead`: queue depth changed (published on enqueue and dequeue). */
export interface HttpBulkheadEvent {
  origin: string;
  active: number;
  queued: number;
  /** `rejected` when the queue was full. */
  event: 'queued' | 'dequeued' | 'rejected';
}

/** `voelgoed:storage:operation`: one per port operation. */
export interface StorageOperationEvent {
  operation:
    | 'put'
    | 'get'
    | 'getRange'
    | 'head'
    | 'exists'
    | 'delete'
    | 'deleteMany'
    | 'list'
    | 'copy'
    | 'signedUrl';
  /** `s3`, `fs`, `memory`. */
  driver: string;
  /** Bucket or root name; never keys. */
  bucket?: string;
  durationMs: number;
  /** Bytes moved, when known. */
  bytes?: number;
  outcome: Outcome;
  errorCode?: string;
}

/** What happened to a job, as `voelgoed:queue:job` reports it. */
export type QueueJobEventKind =
  | 'enqueued'
  | 'started'
  | 'completed'
  | 'failed'
  | 'retried'
  | 'dead_lettered'
  | 'lease_lost';

/**
 * `voelgoed:queue:job`: one per step of a job's life. `failed` is one failed delivery; it is
 * followed by `retried` (another attempt comes) or `dead_lettered` (none is left).
 */
export interface QueueJobEvent {
  /** The queue's name (never the job id or payload). */
  queue: string;
  event: QueueJobEventKind;
  /** The delivery's attempt number (absent for `enqueued`). */
  attempt?: number;
  /** `completed`/`failed`: the handler's run time; `enqueued`: the enqueue call's, ms. */
  durationMs?: number;
  /** `retried`: the wait before the next attempt, ms. */
  delayMs?: number;
  /** `failed`: the error's `code`, or `UNKNOWN`. */
  errorCode?: string;
}

/** Payload type of each channel. */
export interface ChannelPayloads {
  'voelgoed:redis:command': RedisCommandEvent;
  'voelgoed:lock:acquire': LockAcquireEvent;
  'voelgoed:lock:release': LockReleaseEvent;
  'voelgoed:lock:extend': LockExtendEvent;
  'voelgoed:lock:lost': LockLostEvent;
  'voelgoed:http:request': HttpRequestEvent;
  'voelgoed:http:retry': HttpRetryEvent;
  'voelgoed:http:circuit': HttpCircuitEvent;
  'voelgoed:http:bulkhead': HttpBulkheadEvent;
  'voelgoed:storage:operation': StorageOperationEvent;
  'voelgoed:queue:job': QueueJobEvent;
}

/** A typed publisher on one channel. Check `enabled` before building a payload on a hot path. */
export interface EventPublisher<N extends ChannelName> {
  readonly name: N;
  /** True when someone subscribes; building and publishing a payload is wasted otherwise. */
  readonly enabled: boolean;
  /** Publishes when someone subscribes; does nothing otherwise. */
  publish(payload: ChannelPayloads[N]): void;
  /** Same as publish, but builds the payload only when someone subscribes. */
  publishLazy(build: () => ChannelPayloads[N]): void;
}

class Publisher<N extends ChannelName> implements EventPublisher<N> {
  readonly #channel: Channel;
  constructor(readonly name: N) {
    this.#channel = channel(name);
  }
  get enabled(): boolean {
    return this.#channel.hasSubscribers;
  }
  publish(payload: ChannelPayloads[N]): void {
    if (this.#channel.hasSubscribers) this.#channel.publish(payload);
  }
  publishLazy(build: () => ChannelPayloads[N]): void {
    if (this.#channel.hasSubscribers) this.#channel.publish(build());
  }
}

/** A publisher for `name`. Channels are process-wide: every publisher of a name shares one. */
export function createPublisher<N extends ChannelName>(name: N): EventPublisher<N> {
  return new Publisher(name);
}

/** Subscribes `handler` to `name`; returns a function that unsubscribes. */
export function subscribe<N extends ChannelName>(
  name: N,
  handler: (payload: ChannelPayloads[N]) => void,
): () => void {
  const ch = channel(name);
  const listener = (message: unknown) => handler(message as ChannelPayloads[N]);
  ch.subscribe(listener);
  return () => {
    ch.unsubscribe(listener);
  };
}
