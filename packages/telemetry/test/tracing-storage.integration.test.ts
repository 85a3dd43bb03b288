import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { type ObjectStorage, TraceChannels } from '@voelgoed/contracts';
import { createFsStorage, createMemoryStorage, createS3Storage, type S3Storage } from '@voelgoed/storage';
import { type S3Server, startS3 } from '@voelgoed/testkit';
import { bridgeTraceChannel } from '../src/tracing/index.js';
import { storageSpans } from '../src/tracing/storage-spans.js';
import { startTraceKit, type TraceKit } from './trace-kit.js';

// Every port operation of every storage driver (S3 on the test kit's server, filesystem,
// memory) as a span, with the caller's span as its parent; a failed call's span has its error
// type; no secret (S3 secret key, signed URL query, fs signing secret) in any span.

const FS_SECRET = 'fs-signing-secret-0123456789abcdef0123456789';
const S3_METHODS: Record<string, string | undefined> = {
  put: 'PutObject',
  get: 'GetObject',
  getRange: 'GetObject',
  head: 'HeadObject',
  exists: 'HeadObject',
  copy: 'CopyObject',
  list: 'ListObjectsV2',
  signedUrl: undefined,
  delete: 'DeleteObject',
  deleteMany: 'DeleteObjects',
};

let kit: TraceKit;
let off: () => void;
let server: S3Server;
let bucket: string;
let s3: S3Storage;
let dir: string;

beforeAll(async () => {
  kit = startTraceKit();
  off = bridgeTraceChannel(TraceChannels.storageOperation, kit.tracer, storageSpans);
  server = await startS3();
  bucket = await server.createBucket();
  s3 = createS3Storage({ ...server.clientOptions, bucket });
  dir = await mkdtemp(path.join(tmpdir(), 'voelgoed-tracing-storage-'));
});
afterAll(async () => {
  off?.();
  kit?.close();
  s3?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function drain(body: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  return n;
}

/** Runs every port operation once inside a `caller` span; returns the signed URL. */
async function exercise(storage: ObjectStorage, key: string): Promise<{ url: string; callerId: string }> {
  const prefix = key.slice(0, key.lastIndexOf('/') + 1);
  return kit.tracer.startActiveSpan('caller', async (caller) => {
    await storage.put(key, 'x'.repeat(1000));
    expect(await drain((await storage.get(key)).body)).toBe(1000);
    expect(await drain((await storage.getRange(key, 0, 9)).body)).toBe(10);
    await storage.head(key);
    expect(await storage.exists(key)).toBe(true);
    await storage.copy(key, `${prefix}copy.txt`);
    const listed: string[] = [];
    for await (const item of storage.list(prefix)) listed.push(item.key);
    expect(listed).toHaveLength(2);
    const url = await storage.signedUrl(key, { expiresInS: 60 });
    await storage.delete(`${prefix}copy.txt`);
    await storage.deleteMany([key, `${prefix}other.txt`]);
    caller.end();
    return { url, callerId: caller.spanContext().spanId };
  });
}

const byOperation = (spans: ReadableSpan[], operation: string) =>
  spans.filter((s) => s.attributes['voelgoed.storage.operation'] === operation);

describe('storage spans', () => {
  it('S3: a CLIENT span per operation with the AWS SDK attributes, children of the caller', async () => {
    kit.exporter.reset();
    const key = 'reports/2026/secret-name.txt';
    const { url, callerId } = await exercise(s3, key);
    const spans = kit.spans().filter((s) => s.attributes['voelgoed.storage.driver'] === 's3');
    for (const [operation, method] of Object.entries(S3_METHODS)) {
      const [span, ...more] = byOperation(spans, operation);
      expect(more).toHaveLength(0);
      expect(span?.parentSpanContext?.spanId).toBe(callerId);
      if (method === undefined) {
        // Presigning is local: an INTERNAL span, no rpc attributes.
        expect(span?.name).toBe('storage signedUrl');
        expect(span?.kind).toBe(SpanKind.INTERNAL);
        expect(span?.attributes['rpc.system']).toBeUndefined();
        continue;
      }
      expect(span?.name).toBe(`S3.${method}`);
      expect(span?.kind).toBe(SpanKind.CLIENT);
      expect(span?.attributes).toMatchObject({
        'rpc.system': 'aws-api',
        'rpc.service': 'S3',
        'rpc.method': method,
        'aws.s3.bucket': bucket,
        'server.address': server.endPoint,
        'server.port': server.port,
        'voelgoed.storage.bucket': bucket,
      });
      if (operation === 'list') {
        expect(span?.attributes['aws.s3.key']).toBeUndefined();
        expect(span?.attributes['voelgoed.storage.key']).toBe('reports/2026/');
      } else if (operation === 'deleteMany') {
        expect(span?.attributes['voelgoed.storage.key_count']).toBe(2);
      } else if (operation === 'copy') {
        expect(span?.attributes['aws.s3.key']).toBe('reports/2026/copy.txt');
        expect(span?.attributes['aws.s3.copy_source']).toBe(`${bucket}/${key}`);
      } else {
        expect(span?.attributes['aws.s3.key']).toBe(operation === 'delete' ? 'reports/2026/copy.txt' : key);
      }
      expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
    }
    expect(byOperation(spans, 'put')[0]?.attributes['voelgoed.storage.bytes']).toBe(1000);
    expect(byOperation(spans, 'get')[0]?.attributes['voelgoed.storage.bytes']).toBe(1000);
    expect(byOperation(spans, 'getRange')[0]?.attributes['voelgoed.storage.bytes']).toBe(10);
    expect(byOperation(spans, 'copy')[0]?.attributes['voelgoed.storage.bytes']).toBe(1000);
    // No secret: the S3 secret key, the signed URL or its query.
    const dump = kit.dump();
    const query = new URL(url).search;
    expect(query.length).toBeGreaterThan(20);
    expect(dump).not.toContain(server.secretKey);
    expect(dump).not.toContain(query.slice(1, 40));
    expect(dump).not.toContain(new URL(url).searchParams.get('X-Amz-Signature') ?? 'no-signature');
    expect(dump).not.toContain(url);
  });

  it.each([
    [
      'fs',
      () =>
        createFsStorage({
          root: path.join(dir, 'media'),
          signing: { secret: FS_SECRET, baseUrl: 'https://files.example.com/f/' },
        }),
      'media',
    ],
    ['memory', () => createMemoryStorage({ bucket: 'mem-bucket' }), 'mem-bucket'],
  ] as const)(
    '%s: an INTERNAL span per operation with the voelgoed.storage attributes',
    async (driver, make, name) => {
      kit.exporter.reset();
      const key = 'reports/2026/secret-name.txt';
      const { url, callerId } = await exercise(make(), key);
      const spans = kit.spans().filter((s) => s.attributes['voelgoed.storage.driver'] === driver);
      for (const operation of Object.keys(S3_METHODS)) {
        const [span, ...more] = byOperation(spans, operation);
        expect(more).toHaveLength(0);
        expect(span?.name).toBe(`storage ${operation}`);
        expect(span?.kind).toBe(SpanKind.INTERNAL);
        expect(span?.parentSpanContext?.spanId).toBe(callerId);
        expect(span?.attributes['voelgoed.storage.bucket']).toBe(name);
        expect(span?.attributes['rpc.system']).toBeUndefined();
        if (operation === 'list') expect(span?.attributes['voelgoed.storage.key']).toBe('reports/2026/');
        else if (operation === 'deleteMany') expect(span?.attributes['voelgoed.storage.key_count']).toBe(2);
        else if (operation === 'copy') {
          expect(span?.attributes['voelgoed.storage.key']).toBe('reports/2026/copy.txt');
          expect(span?.attributes['voelgoed.storage.source_key']).toBe(key);
        } else {
          expect(span?.attributes['voelgoed.storage.key']).toBe(
            operation === 'delete' ? 'reports/2026/copy.txt' : key,
          );
        }
      }
      expect(byOperation(spans, 'put')[0]?.attributes['voelgoed.storage.bytes']).toBe(1000);
      expect(byOperation(spans, 'get')[0]?.attributes['voelgoed.storage.bytes']).toBe(1000);
      expect(byOperation(spans, 'getRange')[0]?.attributes['voelgoed.storage.bytes']).toBe(10);
      const dump = kit.dump();
      const query = url.slice(url.indexOf('?') + 1);
      expect(query.length).toBeGreaterThan(20);
      expect(dump).not.toContain(query);
      expect(dump).not.toContain(url);
      expect(dump).not.toContain(FS_SECRET);
    },
  );

  it.each([
    ['s3', () => s3],
    ['fs', () => createFsStorage({ root: path.join(dir, 'failures') })],
    ['memory', () => createMemoryStorage()],
  ] as const)(
    '%s: a failed call has error.type and an error status; a bad list too',
    async (driver, make) => {
      kit.exporter.reset();
      const storage = make();
      await expect(storage.get('missing/object.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(storage.put('', 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(async () => {
        for await (const _ of storage.list('bad\0prefix')) {
          // never reached
        }
      }).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      const spans = kit.spans().filter((s) => s.attributes['voelgoed.storage.driver'] === driver);
      const [get] = byOperation(spans, 'get');
      expect(get?.attributes['error.type']).toBe('NOT_FOUND');
      expect(get?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NOT_FOUND' });
      const [put] = byOperation(spans, 'put');
      expect(put?.attributes['error.type']).toBe('INVALID_ARGUMENT');
      const [list] = byOperation(spans, 'list');
      expect(list?.attributes['error.type']).toBe('INVALID_ARGUMENT');
      expect(list?.status.code).toBe(SpanStatusCode.ERROR);
    },
  );
});
