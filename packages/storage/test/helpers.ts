import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStorage } from '@voelgoed/contracts';
import { readAll } from '@voelgoed/testkit';
import { createS3Storage, type S3Storage, type S3StorageOptions } from '../src/index.js';

export async function getBytes(storage: ObjectStorage, key: string): Promise<Buffer> {
  return readAll((await storage.get(key)).body);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), `length` long. */
export function bytes(length: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A stream of `data` in chunks of `size` bytes. */
export function chunks(data: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );
}

/** A stream that yields `data` and then fails. */
export function failingAfter(data: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield data;
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('source failed midway');
    })(),
  );
}

export function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function randomKey(prefix = 't'): string {
  return `${prefix}/${Math.random().toString(36).slice(2)}`;
}

/** An S3Storage against a local fake S3 server on `port`: fake credentials, no retries. */
export function fakeS3Storage(
  port: number,
  bucket: string,
  options: Partial<S3StorageOptions> = {},
): S3Storage {
  return createS3Storage({
    endPoint: '127.0.0.1',
    port,
    useSSL: false,
    accessKey: 'AKIAEXAMPLE',
    secretKey: 'secret-example-key',
    bucket,
    retries: 0,
    ...options,
  });
}
