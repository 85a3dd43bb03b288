import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ObjectStorage } from '../ports/storage.js';
import { collect, readAll } from './shared.js';

// What the topics of the ObjectStorage suite share: their context, stream and byte helpers, and
// the keys the port refuses.

/** What the suite asks of whoever fetches a signed URL (an HTTP client, or the memory driver). */
export interface SignedUrlFetchInit {
  method: 'GET' | 'PUT';
  body?: Buffer;
  contentType?: string;
}

/** Fetches a signed URL as its bearer would. */
export type SignedUrlFetcher<T extends ObjectStorage> = (
  impl: T,
  url: string,
  init: SignedUrlFetchInit,
) => Promise<{ status: number; body: Uint8Array }>;

/** The suite's options as every topic reads them, defaults applied. */
export interface ObjectStorageTopicContext<T extends ObjectStorage> {
  /** A new random key under the suite's key prefix. */
  readonly newKey: () => string;
  /** Size of the large-object round trip in bytes. */
  readonly largeBytes: number;
  /** Whether the driver has signed URLs. */
  readonly signedUrl: boolean;
  readonly fetchSigned: SignedUrlFetcher<T>;
  /** Another open instance over the same objects as a closed one, when the suite was given one. */
  readonly reopen: ((closed: T) => ObjectStorage | Promise<ObjectStorage>) | undefined;
}

/** Reads a stream to the end. */
export { collect, readAll };

export async function getBytes(impl: ObjectStorage, key: string): Promise<Buffer> {
  return readAll((await impl.get(key)).body);
}

/** Bytes 0..255 repeated, `length` long. */
export function pattern(length: number, seed = 0): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i + seed) % 256;
  return out;
}

/** A stream of `data` in chunks of varying, odd sizes. */
export function chunked(data: Buffer, sizes = [1, 7, 4093, 65_537, 13]): Readable {
  return Readable.from(
    (function* () {
      let offset = 0;
      for (let i = 0; offset < data.length; i = (i + 1) % sizes.length) {
        // `i` stays an index of `sizes`: the fallback (the rest in one chunk) never applies.
        const size = sizes[i] ?? data.length;
        yield data.subarray(offset, offset + size);
        offset += size;
      }
    })(),
  );
}

export async function* asyncChunks(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield new TextEncoder().encode(part);
  }
}

/** A stream that yields `bytes` and then fails. */
export function failingStream(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      await Promise.resolve();
      throw new Error('source failed midway');
    })(),
  );
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Keys the port refuses, each with why. */
export const BAD_KEYS: readonly [string, unknown][] = [
  ['empty', ''],
  ['not a string', 42],
  ['leading slash', '/a/b'],
  ['.. segment', 'a/../b'],
  ['only ..', '..'],
  ['trailing .. segment', 'a/..'],
  ['. segment', 'a/./b'],
  ['leading ./', './x'],
  ['only .', '.'],
  ['empty segment', 'a//b'],
  ['trailing /', 'a/'],
  ['NUL', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['DEL', 'a\u007fb'],
  ['1025 ASCII bytes', `${'k/'.repeat(100)}${'x'.repeat(825)}`],
  ['1026 UTF-8 bytes in 663 characters', `${'é/'.repeat(300)}${'é'.repeat(63)}`],
];

/** A 1024-byte key in segments of <= 200 bytes (valid for S3 and for file systems). */
export function longestKey(prefix: string): string {
  let key = `${prefix}/`;
  while (Buffer.byteLength(key) < 1024) {
    const left = 1024 - Buffer.byteLength(key);
    key += left > 201 ? `${'k'.repeat(200)}/` : 'k'.repeat(left);
  }
  return key;
}

/** The default {@link SignedUrlFetcher}: global `fetch`, for http(s) URLs. */
export async function fetchWithGlobalFetch(
  _impl: ObjectStorage,
  url: string,
  init: SignedUrlFetchInit,
): Promise<{ status: number; body: Uint8Array }> {
  if (!/^https?:/.test(url)) {
    throw new Error(
      '[voelgoed:contracts] the signed URL is not http(s): pass fetchSignedUrl to describeObjectStorage',
    );
  }
  const response = await fetch(url, {
    method: init.method,
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.contentType === undefined ? {} : { headers: { 'content-type': init.contentType } }),
  });
  return { status: response.status, body: new Uint8Array(await response.arrayBuffer()) };
}
