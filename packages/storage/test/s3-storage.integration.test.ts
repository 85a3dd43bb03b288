import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError, type StorageOperationEvent, subscribe } from '@voelgoed/contracts';
import {
  getFreePort,
  radosgwInstallHint,
  type S3Capabilities,
  type S3Server,
  startS3,
} from '@voelgoed/testkit';
import { Client } from 'minio';
import { createS3Storage, isStorageError, type S3Storage } from '../src/index.js';
import { bytes, chunks, collect, failingAfter, getBytes, md5, randomKey } from './helpers.js';

const MiB = 1024 * 1024;

let server: S3Server;
let bucket: string;
const opened: S3Storage[] = [];

function storage(extra: Partial<Parameters<typeof createS3Storage>[0] & object> = {}): S3Storage {
  const s = createS3Storage({ ...server.clientOptions, bucket, ...extra });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
  console.log(`[storage] S3 tests run on ${server.kind} (${JSON.stringify(server.capabilities)})`);
});

afterAll(async () => {
  for (const s of opened) s.close();
  await server?.stop();
});

describe('S3Storage on the test kit server', () => {
  it('stores a small object in one PUT and reads it back with its info', async () => {
    const s = storage();
    const key = randomKey();
    const put = await s.put(key, 'hello', {
      contentType: 'text/plain',
      metadata: { Owner: 'me' },
      cacheControl: 'no-cache',
    });
    expect(put).toEqual({ key, etag: md5(Buffer.from('hello')), size: 5 });
    const got = await s.get(key);
    expect(got.size).toBe(5);
    expect(got.contentType).toBe('text/plain');
    expect(got.cacheControl).toBe('no-cache');
    expect(got.metadata).toEqual({ owner: 'me' });
    expect(got.etag).toBe(put.etag);
    expect((await getBytes(s, key)).toString()).toBe('hello');
  });

  it('uploads a stream of unknown length as parallel multipart parts, in order, with progress', async () => {
    const s = storage({ partSize: 5 * MiB, concurrency: 3 });
    const key = randomKey();
    const data = bytes(17 * MiB + 123, 7);
    const progress: number[] = [];
    const put = await s.put(key, chunks(data, 64 * 1024 + 3), { onProgress: (n) => progress.push(n) });
    expect(put.size).toBe(data.length);
    // Progress is reported per part (finishing in any order): 5, 5, 5 and 2 MiB + 123 bytes.
    expect(progress.at(-1)).toBe(data.length);
    const sizes = progress.map((n, i) => n - (progress[i - 1] ?? 0)).sort((a, b) => a - b);
    expect(sizes).toEqual([2 * MiB + 123, 5 * MiB, 5 * MiB, 5 * MiB]);
    const back = await getBytes(s, key);
    expect(md5(back)).toBe(md5(data));
  });

  it('splits an oversized input chunk into parts of partSize (never one oversized part)', async () => {
    const s = storage({ partSize: 5 * MiB });
    const key = randomKey();
    const data = bytes(16 * MiB, 3);
    // One 16 MiB chunk from a stream of unknown length.
    const progress: number[] = [];
    await s.put(key, chunks(data, data.length), { onProgress: (n) => progress.push(n) });
    // Parts finish in any order; their sizes are 5, 5, 5 and 1 MiB.
    const sizes = progress.map((n, i) => n - (progress[i - 1] ?? 0)).sort((a, b) => a - b);
    expect(sizes).toEqual([1 * MiB, 5 * MiB, 5 * MiB, 5 * MiB]);
    expect(md5(await getBytes(s, key))).toBe(md5(data));
  });

  it('stores an empty stream of unknown length as an empty object', async () => {
    const s = storage();
    const key = randomKey();
    const put = await s.put(key, chunks(Buffer.alloc(0), 1));
    expect(put.size).toBe(0);
    expect((await s.head(key)).size).toBe(0);
    expect((await getBytes(s, key)).length).toBe(0);
  });

  it('a source stream that errors midway rejects (no crash, no hang) and stores nothing', async () => {
    const s = storage({ partSize: 5 * MiB, concurrency: 2 });
    for (const size of [1000, 12 * MiB]) {
      const key = randomKey();
      const error = await s.put(key, failingAfter(bytes(size))).catch((e: unknown) => e);
      expect(isInfrastructureError(error, 'INTEGRITY')).toBe(true);
      expect(await s.exists(key)).toBe(false);
    }
  });

  it('a checksum or size mismatch on a multipart upload rejects with INTEGRITY and stores nothing', async () => {
    const s = storage({ partSize: 5 * MiB });
    const data = bytes(11 * MiB);
    const k1 = randomKey();
    await expect(
      s.put(k1, chunks(data, 65536), { checksum: { algorithm: 'md5', value: md5(Buffer.from('x')) } }),
    ).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await s.exists(k1)).toBe(false);
    const k2 = randomKey();
    await expect(s.put(k2, chunks(data, 65536), { size: data.length - 1 })).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    expect(await s.exists(k2)).toBe(false);
    const k3 = randomKey();
    await s.put(k3, chunks(data, 65536), {
      checksum: {
        algorithm: 'sha256',
        value: createHash('sha256').update(data).digest('base64'),
        encoding: 'base64',
      },
    });
    expect(await s.exists(k3)).toBe(true);
  });

  it('an abort signal stops a multipart upload with ABORTED and stores nothing', async () => {
    const s = storage({ partSize: 5 * MiB });
    const key = randomKey();
    const controller = new AbortController();
    const data = bytes(30 * MiB);
    const put = s.put(key, chunks(data, 65536), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(put).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await s.exists(key)).toBe(false);
  });

  it('oversized input rejects with PAYLOAD_TOO_LARGE (declared or streamed)', async () => {
    const s = storage({ maxObjectSize: 1000 });
    await expect(s.put(randomKey(), bytes(1001))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(s.put(randomKey(), chunks(bytes(5000), 100))).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('keys with dot or empty segments are refused: they cannot overwrite the key S3 folds them onto', async () => {
    const s = storage();
    const base = randomKey();
    await s.put(`${base}/a/b`, 'the object at a/b');
    await s.put(`${base}/x`, 'the object at x');
    for (const alias of [`${base}/a/./b`, `${base}/./x`, `${base}/a//b`, `${base}/a/b/`, `${base}/a/b/..`]) {
      await expect(s.put(alias, 'overwrite?')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(s.copy(`${base}/x`, alias)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(s.delete(alias)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect((await getBytes(s, `${base}/a/b`)).toString()).toBe('the object at a/b');
    expect((await getBytes(s, `${base}/x`)).toString()).toBe('the object at x');
    expect((await collect(s.list(`${base}/`))).map((o) => o.key)).toEqual([`${base}/a/b`, `${base}/x`]);
    await expect(collect(s.list(`${base}/./`))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('malformed keys reject with INVALID_ARGUMENT before any request', async () => {
    const s = storage();
    for (const key of [
      '',
      '/abs',
      'a/../b',
      './x',
      'a/./b',
      'a//b',
      'a/',
      'nul\u0000byte',
      'x'.repeat(1025),
    ]) {
      await expect(s.put(key, 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(s.get(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(s.signedUrl(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('lists keys that look like numbers exactly (minio 8.0.7 turns "007" into 7)', async () => {
    const s = storage();
    const prefix = `${randomKey()}/`;
    const names = ['007', '0x10', '1e3', '42', 'a&b<c>'];
    for (const n of names) await s.put(`${prefix}${n}`, n);
    const listed = (await collect(s.list(prefix))).map((o) => o.key.slice(prefix.length));
    expect(listed).toEqual([...names].sort());
  });

  it('presigned GET and PUT work with plain fetch, and presigning makes no request', async () => {
    const s = storage();
    const key = `${randomKey()}/file ✓.txt`;
    const putUrl = await s.signedUrl(key, { method: 'PUT', expiresInS: 60 });
    const res = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' });
    expect(res.status).toBe(200);
    const getUrl = await s.signedUrl(key, { expiresInS: 60 });
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('via presigned put');
    // A storage pointing at a closed port still presigns: no network call.
    const offline = createS3Storage({ ...server.clientOptions, port: 1, bucket });
    expect(await offline.signedUrl(key)).toMatch(/^http:\/\/127\.0\.0\.1:1\//);
    offline.close();
  });

  it('once closed, ensureBucket rejects with INVALID_ARGUMENT and sends no request', async () => {
    // A storage on a port where nothing listens: a request would fail with CONNECTION instead.
    const offline = createS3Storage({ ...server.clientOptions, port: await getFreePort(), bucket });
    await offline.close();
    const error = await offline.ensureBucket().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/the storage is closed/);
  });

  it('signs URLs for the public endpoint when one is configured, and caps expiry at 7 days', async () => {
    const s = storage({ publicUrl: 'https://files.example.com' });
    const url = new URL(await s.signedUrl('a/b.txt', { expiresInS: 30 * 24 * 3600 }));
    expect(url.origin).toBe('https://files.example.com');
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(7 * 24 * 3600));
  });

  it('copy keeps content type and metadata; deleteMany removes in batches', async () => {
    const s = storage();
    const prefix = `${randomKey()}/`;
    await s.put(`${prefix}src`, 'data', { contentType: 'text/csv', metadata: { a: '1' } });
    const info = await s.copy(`${prefix}src`, `${prefix}dst`);
    expect(info).toMatchObject({ size: 4, contentType: 'text/csv', metadata: { a: '1' } });
    const keys = Array.from({ length: 1005 }, (_, i) => `${prefix}many/${String(i).padStart(4, '0')}`);
    await Promise.all(keys.slice(0, 20).map((k) => s.put(k, 'x')));
    await s.deleteMany(keys);
    expect(await collect(s.list(`${prefix}many/`))).toEqual([]);
  });

  it('publishes one event per operation with bucket and bytes, never keys', async () => {
    const s = storage();
    const events: StorageOperationEvent[] = [];
    const off = subscribe(Channels.storageOperation, (e) => events.push(e));
    const key = randomKey('secret-key-name');
    try {
      await s.put(key, 'abc');
      await s.head(key);
      await s.get(randomKey()).catch(() => undefined);
    } finally {
      off();
    }
    expect(events.map((e) => [e.operation, e.outcome, e.errorCode])).toEqual([
      ['put', 'ok', undefined],
      ['head', 'ok', undefined],
      ['get', 'error', 'NOT_FOUND'],
    ]);
    expect(events[0]).toMatchObject({ driver: 's3', bucket, bytes: 3 });
    expect(JSON.stringify(events)).not.toContain('secret-key-name');
  });

  it('errors never hold the secret key or a signed query string', async () => {
    const secret = server.secretKey;
    const s = storage({ bucket: 'no-such-bucket-here' });
    const error = (await s.get('k').catch((e: unknown) => e)) as Error;
    expect(isInfrastructureError(error, 'NOT_FOUND')).toBe(true);
    expect(error.message).toMatch(/^\[voelgoed:storage\]/);
    expect(error.message).not.toContain(secret);
    expect(error.message).not.toMatch(/X-Amz-Signature/i);
  });

  it('a killed server gives CONNECTION errors, not a hang', async () => {
    const doomed = await startS3({ kind: 's3rver' });
    const doomedBucket = await doomed.createBucket();
    const s = createS3Storage({
      ...doomed.clientOptions,
      bucket: doomedBucket,
      retries: 1,
      retryBaseDelayMs: 10,
    });
    await s.put('k', 'v');
    await doomed.stop();
    await expect(s.get('k')).rejects.toMatchObject({ code: 'CONNECTION', retryable: true });
    await expect(s.put('k', chunks(bytes(1000), 100))).rejects.toMatchObject({ code: 'CONNECTION' });
    await expect(collect(s.list())).rejects.toMatchObject({ code: 'CONNECTION' });
    s.close();
  });

  it('runs on a real S3 server (radosgw here, MinIO where a Docker engine answers)', () => {
    // s3rver, the fallback, lacks what the tests below check: they would fail, not pass.
    requireRealS3('checksSecretKey');
    expect(['minio', 'radosgw']).toContain(server.kind);
  });

  it('a failed multipart upload leaves no incomplete upload (checked with ListMultipartUploads)', async () => {
    requireRealS3('listMultipartUploads');
    const s = storage({ partSize: 5 * MiB });
    const key = randomKey();
    await expect(s.put(key, failingAfter(bytes(12 * MiB)))).rejects.toMatchObject({ code: 'INTEGRITY' });
    const raw = new Client(server.clientOptions);
    expect(await collect(raw.listIncompleteUploads(bucket, key, true))).toEqual([]);
    expect(await s.exists(key)).toBe(false);
  });

  it('an aborted multipart upload leaves no incomplete upload either', async () => {
    requireRealS3('listMultipartUploads');
    const s = storage({ partSize: 5 * MiB, concurrency: 2 });
    const key = randomKey();
    const raw = new Client(server.clientOptions);
    const controller = new AbortController();
    let sawUpload = false;
    const body = Readable.from(
      (async function* () {
        yield bytes(12 * MiB);
        // Two parts are on their way: the upload is open on the server. Abort then.
        await waitUntil(
          async () => (await collect(raw.listIncompleteUploads(bucket, key, true))).length === 1,
        );
        sawUpload = true;
        controller.abort();
        yield bytes(1);
      })(),
    );
    await expect(s.put(key, body, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(sawUpload).toBe(true);
    expect(await collect(raw.listIncompleteUploads(bucket, key, true))).toEqual([]);
  });

  it('a wrong secret key is refused with ACCESS_DENIED', async () => {
    requireRealS3('checksSecretKey');
    const s = storage({ secretKey: 'wrong-secret-key-123' });
    const error = (await s.put(randomKey(), 'x').catch((e: unknown) => e)) as Error;
    expect(isStorageError(error, 'ACCESS_DENIED')).toBe(true);
    expect(error.message).not.toContain('wrong-secret-key-123');
    const unknownKey = storage({ accessKey: 'NO-SUCH-ACCESS-KEY' });
    expect(isStorageError(await unknownKey.get(randomKey()).catch((e: unknown) => e), 'ACCESS_DENIED')).toBe(
      true,
    );
  });

  it("health() reports a wrong secret and a closed port with this package's codes", async () => {
    requireRealS3('checksSecretKey');
    const denied = await storage({ secretKey: 'wrong-secret-key-123' }).health();
    expect(denied).toMatchObject({ status: 'down', error: { code: 'ACCESS_DENIED' } });
    expect(JSON.stringify(denied)).not.toContain('wrong-secret-key-123');
    const closedPort = await getFreePort();
    const unreachable = await storage({ port: closedPort, retries: 0 }).health();
    expect(unreachable).toMatchObject({ status: 'down', error: { code: 'CONNECTION' } });
  });

  it('a multipart put resolves with the etag head, get and list give (the S3 multipart form)', async () => {
    const s = storage({ partSize: 5 * MiB });
    const key = randomKey();
    const data = bytes(11 * MiB + 5, 9);
    const put = await s.put(key, chunks(data, 65536));
    expect(put.etag).toMatch(/^[0-9a-f]{32}-3$/);
    const head = await s.head(key);
    expect(head.etag).toBe(put.etag);
    expect((await collect(s.list(key))).map((o) => o.etag)).toEqual([put.etag]);
    // The same bytes again give the same etag; other bytes another.
    expect((await s.put(key, chunks(data, 65536))).etag).toBe(put.etag);
    data[0] = (data[0]! + 1) % 256;
    expect((await s.put(key, chunks(data, 65536))).etag).not.toBe(put.etag);
  });

  it('copy onto itself is a no-op that keeps the bytes, metadata and etag; a missing source is NOT_FOUND', async () => {
    const s = storage();
    const key = randomKey();
    const put = await s.put(key, 'same', { contentType: 'text/x-same', metadata: { keep: 'me' } });
    const before = await s.head(key);
    const info = await s.copy(key, key);
    expect(info).toEqual(before);
    expect(info.etag).toBe(put.etag);
    expect(await s.head(key)).toEqual(before);
    expect((await getBytes(s, key)).toString()).toBe('same');
    await expect(s.copy(`${key}-missing`, `${key}-missing`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('exists() on a missing bucket rejects with NOT_FOUND like get, put and list do', async () => {
    const s = storage({ bucket: `missing-${bucket}` });
    for (const call of [
      () => s.exists('k'),
      () => s.get('k'),
      () => s.head('k'),
      () => s.put('k', 'v'),
      () => collect(s.list()),
    ]) {
      const error = (await call().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      expect(isInfrastructureError(error, 'NOT_FOUND')).toBe(true);
    }
    const error = (await s.exists('k').catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/bucket '.*' does not exist/);
    // On a bucket that exists, a missing object is still just false.
    expect(await storage().exists(randomKey())).toBe(false);
  });

  it('signedUrl refuses keys a browser would not send as they are, on every method', async () => {
    const s = storage();
    for (const key of ['a/./b', 'a/../b', './x', 'a//b', 'a/', '.', '..']) {
      for (const method of ['GET', 'PUT'] as const) {
        await expect(s.signedUrl(key, { method })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    }
    // Dots that are not whole segments, and characters fetch percent-encodes, are sent unchanged.
    const prefix = randomKey();
    for (const name of ['.hidden', 'a..b', '...', 'x.', 'sp ace', 'q?h#p%25', 'back\\slash']) {
      const key = `${prefix}/${name}/end`;
      await s.put(key, name);
      const res = await fetch(await s.signedUrl(key));
      expect([name, res.status, await res.text()]).toEqual([name, 200, name]);
    }
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Fails (never skips) a test that needs what only a real S3 server does, saying what to install. */
function requireRealS3(capability: keyof S3Capabilities): void {
  if (!server.capabilities[capability]) {
    throw new Error(
      `this test needs a real S3 server (${capability}), but the test kit started ${server.kind}: ` +
        `${radosgwInstallHint()}, or start a Docker engine for MinIO`,
    );
  }
}
