import { createHash } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { type S3Server, startS3 } from '@voelgoed/testkit';
import { createS3Storage, parseS3Url, type S3Storage } from '../src/index.js';
import { bytes, chunks, failingAfter, getBytes, md5, randomKey } from './helpers.js';

const MiB = 1024 * 1024;

let server: S3Server;
let bucket: string;
const opened: S3Storage[] = [];

function storage(extra: Partial<Parameters<typeof createS3Storage>[0] & object> = {}): S3Storage {
  const s = createS3Storage({ ...server.clientOptions, bucket, partSize: 5 * MiB, ...extra });
  opened.push(s);
  return s;
}

/** The requests sent to the test server while listening (method and query), in order. */
const requests: string[] = [];
const onRequest = (message: unknown) => {
  const request = (message as { request: ClientRequest }).request;
  if (String(request.getHeader('host') ?? '').endsWith(`:${server.port}`)) {
    requests.push(
      `${request.method} ${request.path.includes('?') ? request.path.slice(request.path.indexOf('?')) : ''}`,
    );
  }
};

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
  dc.subscribe('http.client.request.start', onRequest);
});
afterEach(() => {
  requests.length = 0;
});
afterAll(async () => {
  dc.unsubscribe('http.client.request.start', onRequest);
  for (const s of opened) s.close();
  await server?.stop();
});

/** Whether `key` holds nothing, as on S3, MinIO and the test kit's s3rver after a PUT cut short. */
async function nothingStored(s: S3Storage, key: string): Promise<boolean> {
  return !(await s.exists(key));
}

/** A stream of `data` in `size`-byte chunks, one every `delayMs`. */
function slow(data: Buffer, size: number, delayMs: number): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += size) {
        await new Promise((r) => setTimeout(r, delayMs));
        yield data.subarray(i, i + size);
      }
    })(),
  );
}

describe('S3Storage: one PUT for a body of known size up to multipartThreshold', () => {
  it('streams a declared-size stream above partSize in one PUT (multipart without the threshold)', async () => {
    const data = bytes(12 * MiB + 5, 11);
    const s = storage({ multipartThreshold: 64 * MiB });
    const key = randomKey();
    const progress: number[] = [];
    const put = await s.put(key, chunks(data, 64 * 1024 + 3), {
      size: data.length,
      onProgress: (n) => progress.push(n),
    });
    expect(requests).toEqual(['PUT ']);
    expect(put).toEqual({ key, etag: md5(data), size: data.length });
    expect(progress.at(-1)).toBe(data.length);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(md5(await getBytes(s, key))).toBe(md5(data));

    requests.length = 0;
    await storage().put(randomKey(), chunks(data, 64 * 1024 + 3), { size: data.length });
    expect(requests[0]).toBe('POST ?uploads');
    expect(requests.filter((r) => r.startsWith('PUT ?')).length).toBe(3);
  });

  it('sends bytes in memory above partSize in one PUT', async () => {
    const data = bytes(7 * MiB, 5);
    const s = storage({ multipartThreshold: 8 * MiB });
    const key = randomKey();
    await s.put(key, data);
    expect(requests).toEqual(['PUT ']);
    expect(md5(await getBytes(s, key))).toBe(md5(data));
  });

  it('more or fewer bytes than declared reject with INTEGRITY and store nothing', async () => {
    const s = storage({ multipartThreshold: 64 * MiB });
    const data = bytes(9 * MiB, 2);
    const more = randomKey();
    // The declared size ends on a chunk boundary: the extra bytes come in a chunk of their own,
    // after the server could have had every declared byte.
    const declared = data.length - 65536;
    await expect(s.put(more, chunks(data, 65536), { size: declared })).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    expect(await nothingStored(s, more)).toBe(true);
    const fewer = randomKey();
    await expect(s.put(fewer, chunks(data, 65536), { size: data.length + 1 })).rejects.toMatchObject({
      code: 'INTEGRITY',
    });
    expect(await nothingStored(s, fewer)).toBe(true);
  });

  it('a checksum mismatch rejects with INTEGRITY and stores nothing; matching md5 and sha256 store', async () => {
    const s = storage({ multipartThreshold: 64 * MiB });
    const data = bytes(6 * MiB, 9);
    const bad = randomKey();
    await expect(
      s.put(bad, chunks(data, 65536), {
        size: data.length,
        checksum: { algorithm: 'md5', value: md5(Buffer.from('x')) },
      }),
    ).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await nothingStored(s, bad)).toBe(true);
    const withMd5 = randomKey();
    await s.put(withMd5, chunks(data, 65536), {
      size: data.length,
      checksum: { algorithm: 'md5', value: md5(data) },
    });
    const withSha = randomKey();
    await s.put(withSha, chunks(data, 65536), {
      size: data.length,
      checksum: { algorithm: 'sha256', value: createHash('sha256').update(data).digest('hex') },
    });
    expect(md5(await getBytes(s, withMd5))).toBe(md5(data));
    expect(md5(await getBytes(s, withSha))).toBe(md5(data));
  });

  it('a source that errors midway or an abort rejects (no crash, no hang) and stores nothing', async () => {
    const s = storage({ multipartThreshold: 64 * MiB });
    const failed = randomKey();
    const error = await s
      .put(failed, failingAfter(bytes(6 * MiB)), { size: 8 * MiB })
      .catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'INTEGRITY')).toBe(true);
    expect(await nothingStored(s, failed)).toBe(true);

    const aborted = randomKey();
    const controller = new AbortController();
    const put = s.put(aborted, slow(bytes(8 * MiB), 256 * 1024, 5), {
      size: 8 * MiB,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 30);
    await expect(put).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await nothingStored(s, aborted)).toBe(true);
  });

  it('the request deadline runs from the last byte sent: a slow steady upload finishes, a stalled one times out', async () => {
    // The deadline leaves the server 2 s to answer after the last byte: a 300 ms one was missed
    // by radosgw on a loaded machine (a clean-clone run), which is the server's time, not ours.
    const s = storage({ multipartThreshold: 64 * MiB, requestTimeoutMs: 2_000 });
    // Above partSize (5 MiB), so the body streams in one PUT rather than being buffered first.
    const data = bytes(6 * MiB, 4);
    // ~3.2 s in all, a chunk every 100 ms: longer than the deadline, never idle that long.
    const steady = randomKey();
    await s.put(steady, slow(data, 192 * 1024, 100), { size: data.length });
    expect(md5(await getBytes(s, steady))).toBe(md5(data));

    const stalled = randomKey();
    const source = Readable.from(
      (async function* () {
        yield data.subarray(0, MiB);
        await new Promise((r) => setTimeout(r, 5_000).unref());
        yield data.subarray(MiB);
      })(),
    );
    await expect(s.put(stalled, source, { size: data.length })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(await nothingStored(s, stalled)).toBe(true);
  });

  it('multipartThreshold must be from partSize to 5 GiB (option or URL parameter)', () => {
    const base = { ...server.clientOptions, bucket, partSize: 8 * MiB };
    expect(() => createS3Storage({ ...base, multipartThreshold: 8 * MiB - 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => createS3Storage({ ...base, multipartThreshold: 5 * 1024 * MiB + 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(parseS3Url('http://a:b@h:9000/bkt?multipartThreshold=67108864').multipartThreshold).toBe(64 * MiB);
  });
});
