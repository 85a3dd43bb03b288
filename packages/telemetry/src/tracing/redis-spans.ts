import { tracingChannel } from 'node:diagnostics_channel';
import { type Attributes, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { SpanMapping, SpanSpec } from './span-bridge.js';

/** node-redis 6's tracing channels (`@redis/client` `CHANNELS`), which `@voelgoed/redis` publishes on every deployment. */
export const NodeRedisChannels = {
  command: 'node-redis:command',
  batch: 'node-redis:batch',
} as const;

/** What node-redis puts in a `node-redis:command` context (a subset: what a span needs). */
export interface NodeRedisCommandTrace {
  command: string;
  /** Sanitised by node-redis, yet still keys and values: never read here. */
  args: readonly string[];
  database: number;
  serverAddress: string;
  serverPort: number | undefined;
  clientId: string;
  /** Set on the per-command events node-redis publishes inside a pipeline. */
  batchMode?: 'MULTI' | 'PIPELINE';
  batchSize?: number;
  error?: unknown;
}

/** What node-redis puts in a `node-redis:batch` context. */
export interface NodeRedisBatchTrace {
  batchMode: 'MULTI' | 'PIPELINE';
  batchSize: number;
  database: number;
  serverAddress: string;
  serverPort: number | undefined;
  clientId: string;
  error?: unknown;
  /** A transaction's EXEC replies: errors of commands that ran are among them. */
  result?: unknown;
}

export const nodeRedisCommandChannel = () =>
  tracingChannel<object, NodeRedisCommandTrace>(NodeRedisChannels.command);
export const nodeRedisBatchChannel = () =>
  tracingChannel<object, NodeRedisBatchTrace>(NodeRedisChannels.batch);

function serverAttributes(ctx: { database: number; serverAddress: string; serverPort: number | undefined }) {
  const attributes: Attributes = {
    'db.system.name': 'redis',
    'db.namespace': String(ctx.database),
    'server.address': ctx.serverAddress,
  };
  if (ctx.serverPort !== undefined) attributes['server.port'] = ctx.serverPort;
  return attributes;
}

/** Distinct command names kept per connection; past it (odd input), a span spec is built anew. */
const MAX_CACHED_COMMANDS = 256;

/**
 * A command span's name, kind and attributes depend only on the connection (its `clientId`: one
 * server and database) and the command, so they are built once per pair and shared, frozen: the
 * tracer copies the attributes into each span and never writes to them. Bounded: 1024
 * connections (the oldest forgotten first) by 256 command names each.
 */
interface ClientSpecs {
  database: number;
  serverAddress: string;
  serverPort: number | undefined;
  byCommand: Map<string, SpanSpec>;
}
const specCache = new Map<string, ClientSpecs>();
/** Connections remembered; past it the oldest is forgotten (clients come and go). */
const MAX_CACHED_CLIENTS = 1024;

function commandSpec(ctx: NodeRedisCommandTrace): SpanSpec {
  let client = specCache.get(ctx.clientId);
  if (
    client === undefined ||
    client.database !== ctx.database ||
    client.serverAddress !== ctx.serverAddress ||
    client.serverPort !== ctx.serverPort
  ) {
    if (client === undefined && specCache.size >= MAX_CACHED_CLIENTS) {
      const oldest = specCache.keys().next().value;
      if (oldest !== undefined) specCache.delete(oldest);
    }
    client = {
      database: ctx.database,
      serverAddress: ctx.serverAddress,
      serverPort: ctx.serverPort,
      byCommand: new Map(),
    };
    specCache.set(ctx.clientId, client);
  }
  const command = ctx.command;
  let spec = client.byCommand.get(command);
  if (spec === undefined) {
    const operation = String(command).toUpperCase();
    const attributes = serverAttributes(ctx);
    attributes['db.operation.name'] = operation;
    spec = { name: operation, kind: SpanKind.CLIENT, attributes };
    if (typeof command !== 'string' || client.byCommand.size >= MAX_CACHED_COMMANDS) return spec;
    Object.freeze(attributes);
    client.byCommand.set(command, Object.freeze(spec));
  }
  return spec;
}

/** node-redis's and our client's error reply classes. */
const REPLY_CLASSES = new Set(['ErrorReply', 'SimpleError', 'BlobError']);

/**
 * An error reply's prefix (`ERR`, `WRONGTYPE`, `MOVED`) becomes `db.response.status_code` and
 * `error.type`: from @voelgoed/redis's `RedisReplyError` (`reply`) or node-redis's `ErrorReply`
 * (the message's first word; the rest of the message can echo arguments and is never used).
 */
function recordRedisError(ctx: { error?: unknown }, span: Span): void {
  const error = ctx.error as
    | { code?: unknown; reply?: unknown; message?: unknown; name?: unknown }
    | undefined;
  if (typeof error !== 'object' || error === null) return;
  const kind = (error as { constructor?: { name?: unknown } }).constructor?.name;
  let prefix: string | undefined;
  if (error.code === 'REDIS_REPLY' && typeof error.reply === 'string') prefix = error.reply;
  else if (
    typeof error.message === 'string' &&
    (error.name === 'ErrorReply' || (typeof kind === 'string' && REPLY_CLASSES.has(kind)))
  ) {
    prefix = /^([A-Z][A-Z0-9_]*)(?: |$)/.exec(error.message)?.[1];
  }
  let type = prefix;
  // node-redis's own errors keep the name `Error`: their class says more.
  if (type === undefined && error.code === undefined && typeof kind === 'string' && kind !== 'Error')
    type = kind;
  if (type === undefined) return;
  if (prefix !== undefined) span.setAttribute('db.response.status_code', prefix);
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/**
 * A CLIENT span per command, named after it (`GET`). No argument, key or value is recorded:
 * keys and values can be personal data and node-redis's sanitising keeps them for many
 * commands. The per-command events node-redis publishes inside a pipeline get no span: the
 * batch has one.
 */
export const redisCommandSpans: SpanMapping<NodeRedisCommandTrace> = {
  enter: false,
  start(ctx) {
    if (ctx.batchMode !== undefined) return undefined;
    return commandSpec(ctx);
  },
  end: recordRedisError,
};

/** One CLIENT span per pipeline or MULTI/EXEC, named `PIPELINE` or `MULTI`, with its size. */
export const redisBatchSpans: SpanMapping<NodeRedisBatchTrace> = {
  enter: false,
  start(ctx) {
    const attributes = serverAttributes(ctx);
    attributes['db.operation.name'] = ctx.batchMode;
    attributes['db.operation.batch.size'] = ctx.batchSize;
    return { name: ctx.batchMode, kind: SpanKind.CLIENT, attributes };
  },
  end(ctx, span) {
    // A transaction whose command failed ends with EXEC's replies, that command's error among
    // them (the caller's transaction() rejects with it): the span carries its error type. A
    // pipeline resolves with each command's outcome, so one failed command leaves it OK.
    if (ctx.error === undefined && ctx.batchMode === 'MULTI' && Array.isArray(ctx.result)) {
      const failed = ctx.result.find((reply) => reply instanceof Error);
      if (failed !== undefined) return recordRedisError({ error: failed }, span);
    }
    recordRedisError(ctx, span);
  },
};
