import { type Attributes, SpanKind } from '@opentelemetry/api';
import type { StorageOperationTrace } from '@voelgoed/contracts';
import type { SpanMapping } from './span-bridge.js';

/** The S3 API operation each port operation is (a multipart put is still `PutObject`). */
const S3_METHODS: Record<StorageOperationTrace['operation'], string | undefined> = {
  put: 'PutObject',
  get: 'GetObject',
  getRange: 'GetObject',
  head: 'HeadObject',
  exists: 'HeadObject',
  delete: 'DeleteObject',
  deleteMany: 'DeleteObjects',
  list: 'ListObjectsV2',
  copy: 'CopyObject',
  // Presigning is local: no request leaves the process, so no CLIENT span.
  signedUrl: undefined,
};

/**
 * Object storage operations as spans. On S3, a CLIENT span per port operation following the
 * AWS SDK conventions (`S3.PutObject`; `rpc.system` `aws-api`, `rpc.service` `S3`,
 * `rpc.method`, `aws.s3.bucket`, `aws.s3.key`, `aws.s3.copy_source`, `server.address`,
 * `server.port`); `signedUrl` (computed locally) and the filesystem and memory drivers give
 * INTERNAL spans named `storage <operation>`. Every span also has the `voelgoed.storage.*`
 * attributes: `driver`, `operation`, `bucket`, `key` (the prefix for `list`),
 * `source_key` (copy), `key_count` (deleteMany), `bytes` (bytes moved: a put's size, a get's
 * body length as announced when the stream is handed over). A span never holds a signed URL:
 * the URL is not in the trace context.
 */
export const storageSpans: SpanMapping<StorageOperationTrace> = {
  start(ctx) {
    const attributes: Attributes = {
      'voelgoed.storage.driver': ctx.driver,
      'voelgoed.storage.operation': ctx.operation,
    };
    if (ctx.bucket !== undefined) attributes['voelgoed.storage.bucket'] = ctx.bucket;
    if (ctx.key !== undefined) attributes['voelgoed.storage.key'] = ctx.key;
    if (ctx.sourceKey !== undefined) attributes['voelgoed.storage.source_key'] = ctx.sourceKey;
    if (ctx.keyCount !== undefined) attributes['voelgoed.storage.key_count'] = ctx.keyCount;
    const method = ctx.driver === 's3' ? S3_METHODS[ctx.operation] : undefined;
    if (method === undefined) {
      return { name: `storage ${ctx.operation}`, kind: SpanKind.INTERNAL, attributes };
    }
    attributes['rpc.system'] = 'aws-api';
    attributes['rpc.service'] = 'S3';
    attributes['rpc.method'] = method;
    if (ctx.bucket !== undefined) attributes['aws.s3.bucket'] = ctx.bucket;
    if (ctx.key !== undefined && ctx.operation !== 'list') attributes['aws.s3.key'] = ctx.key;
    if (ctx.sourceKey !== undefined && ctx.bucket !== undefined) {
      attributes['aws.s3.copy_source'] = `${ctx.bucket}/${ctx.sourceKey}`;
    }
    if (ctx.serverAddress !== undefined) attributes['server.address'] = ctx.serverAddress;
    if (ctx.serverPort !== undefined) attributes['server.port'] = ctx.serverPort;
    return { name: `S3.${method}`, kind: SpanKind.CLIENT, attributes };
  },
  end(ctx, span) {
    if (ctx.bytes !== undefined) span.setAttribute('voelgoed.storage.bytes', ctx.bytes);
  },
};
