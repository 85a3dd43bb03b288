import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { ObjectStorage, PutBody } from '../ports/storage.js';
import { expect } from './assert.js';
import { lifecycleChecks } from './lifecycle.js';
import { type ObjectStorageBadInputOptions, objectStorageBadInputCheck } from './object-storage-bad-input.js';
import { objectStorageConsistencyChecks } from './object-storage-consistency.js';
import {
  type ConformanceCheck,
  type ConformanceOptions,
  describeChecks,
  expectInfrastructureError,
  randomKey,
  resolveRunner,
  suiteArguments,
} from './shared.js';

/** What the suite asks of whoever fetches a signed URL (an HTTP client, or the memory driver). */
export interface SignedUrlFetchInit {
  method: 'GET' | 'PUT';
  body?: Buffer;
  contentType?: string;
}

/** Options of {@link describeObjectStorage}. */
export interface ObjectStorageConformanceOptions<T extends ObjectStorage = ObjectStorage>
  extends ConformanceOptions<T> {
  /**
   * Whether the driver has signed URLs (default true). When false, the suite checks that
   * `capabilities.signedUrl` is false and that `signedUrl` rejects with an `InfrastructureError`.
   */
  signedUrl?: boolean;
  /**
   * Fetches a signed URL as its bearer would (default: global `fetch`, for http/https URLs).
   * The memory driver passes `(impl, url, init) => impl.fetchSigned(url, init)`.
   */
  fetchSignedUrl?: (
    impl: T,
    url: string,
    init: SignedUrlFetchInit,
  ) => Promise<{ status: number; body: Uint8Array }>;
  /** Size of the large-object round trip in bytes (default 5 MiB + 3, past common multipart thresholds). */
  largeObjectBytes?: number;
  /** Start of every key the suite writes (default `conformance`), to keep a shared bucket tidy. */
  keyPrefix?: string;
  /** Settings of the bad-input check (seed, runs, typed errors a test server may add). */
  badInput?: ObjectStorageBadInputOptions;
}

const { INVALID_ARGUMENT, NOT_FOUND, INTEGRITY, ABORTED } = ErrorCodes;

/** Reads a stream to the end. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

async function getBytes(impl: ObjectStorage, key: string): Promise<Buffer> {
  return readAll((await impl.get(key)).body);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Bytes 0..255 repeated, `length` long. */
function pattern(length: number, seed = 0): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i + seed) % 256;
  return out;
}

/** A stream of `data` in chunks of varying, odd sizes. */
function chunked(data: Buffer, sizes = [1, 7, 4093, 65_537, 13]): Readable {
  return Readable.from(
    (function* () {
      let offset = 0;
      for (let i = 0; offset < data.length; i++) {
        const size = sizes[i % sizes.length]!;
        yield data.subarray(offset, offset + size);
        offset += size;
      }
    })(),
  );
}

async function* asyncChunks(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve();
    yield new TextEncoder().encode(part);
  }
}

/** A stream that yields `bytes` and then fails. */
function failingStream(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      await Promise.resolve();
      throw new Error('source failed midway');
    })(),
  );
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Keys the port refuses, each with why. */
const BAD_KEYS: readonly [string, unknown][] = [
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
function longestKey(prefix: string): string {
  let key = `${prefix}/`;
  while (Buffer.byteLength(key) < 1024) {
    const left = 1024 - Buffer.byteLength(key);
    key += left > 201 ? `${'k'.repeat(200)}/` : 'k'.repeat(left);
  }
  return key;
}

/**
 * The checks of {@link describeObjectStorage}, each a named `(impl) => Promise<void>`. Names are
 * stable: tests may pick checks by name (see `findCheck`).
 */
export function objectStorageChecks<T extends ObjectStorage = ObjectStorage>(
  options: Omit<ObjectStorageConformanceOptions<T>, 'teardown' | 'additionalTests'> = {},
): ConformanceCheck<T>[] {
  const keyPrefix = options.keyPrefix ?? 'conformance';
  const k = () => randomKey(keyPrefix);
  const largeBytes = options.largeObjectBytes ?? 5 * 1024 * 1024 + 3;
  const fetchSigned = options.fetchSignedUrl ?? fetchWithGlobalFetch;

  const checks: ConformanceCheck<T>[] = [
    {
      name: 'put then get returns the bytes and the object info',
      async run(impl) {
        const key = k();
        const put = await impl.put(key, 'hello, object');
        expect(put.key).toBe(key);
        expect(put.size).toBe(13);
        expect(typeof put.etag).toBe('string');
        expect(put.etag.length).toBeGreaterThan(0);
        expect(put.etag).not.toMatch(/"/);
        const got = await impl.get(key);
        expect((await readAll(got.body)).toString('utf8')).toBe('hello, object');
        expect(got.key).toBe(key);
        expect(got.size).toBe(13);
        expect(got.etag).toBe(put.etag);
        expect(got.lastModified).toBeInstanceOf(Date);
        expect(Number.isNaN(got.lastModified.getTime())).toBe(false);
        expect(got.contentType).toBe('application/octet-stream');
        expect(got.metadata).toEqual({});
      },
    },
    {
      name: 'binary bytes (every byte value) round-trip unchanged',
      async run(impl) {
        const key = k();
        const data = pattern(256 * 4 + 5);
        await impl.put(key, new Uint8Array(data));
        expect((await getBytes(impl, key)).equals(data)).toBe(true);
      },
    },
    {
      name: 'put accepts a Readable and an AsyncIterable<Uint8Array>, with or without size',
      async run(impl) {
        const a = k();
        const b = k();
        const c = k();
        const data = pattern(70_000, 3);
        await impl.put(a, chunked(data));
        await impl.put(b, asyncChunks(['stream', 'ed ', 'text']));
        await impl.put(c, chunked(data), { size: data.length });
        expect((await getBytes(impl, a)).equals(data)).toBe(true);
        expect((await getBytes(impl, b)).toString()).toBe('streamed text');
        expect((await getBytes(impl, c)).equals(data)).toBe(true);
        expect((await impl.head(c)).size).toBe(data.length);
      },
    },
    {
      name: 'an empty string, array or stream stores an empty object',
      async run(impl) {
        for (const body of ['', new Uint8Array(0), Readable.from([]), asyncChunks([])] satisfies PutBody[]) {
          const key = k();
          const put = await impl.put(key, body);
          expect(put.size).toBe(0);
          expect((await impl.head(key)).size).toBe(0);
          expect((await getBytes(impl, key)).length).toBe(0);
        }
      },
    },
    {
      name: `a large object (${largeBytes} bytes) streamed in odd chunks round-trips intact`,
      timeoutMs: 120_000,
      async run(impl) {
        const key = k();
        const data = pattern(largeBytes, 11);
        const put = await impl.put(key, chunked(data), { contentType: 'application/x-test' });
        expect(put.size).toBe(largeBytes);
        const got = await impl.get(key);
        const read = await readAll(got.body);
        expect(read.length).toBe(largeBytes);
        expect(sha256(read)).toBe(sha256(data));
        expect(got.size).toBe(largeBytes);
        expect(got.contentType).toBe('application/x-test');
      },
    },
    {
      name: 'the etag is the same from put, head, get and list, and changes with the content',
      async run(impl) {
        const prefix = `${k()}/`;
        const key = `${prefix}obj`;
        const first = await impl.put(key, 'one');
        expect((await impl.head(key)).etag).toBe(first.etag);
        const listed = await collect(impl.list(prefix));
        expect(listed.map((o) => o.etag)).toEqual([first.etag]);
        const second = await impl.put(key, 'two');
        expect(second.etag).not.toBe(first.etag);
        const got = await impl.get(key);
        got.body.destroy();
        expect(got.etag).toBe(second.etag);
      },
    },
    {
      name: 'head gives size, content type, cache control and metadata with lower-case names',
      async run(impl) {
        const key = k();
        await impl.put(key, 'abc', {
          contentType: 'text/plain; charset=utf-8',
          cacheControl: 'max-age=60',
          metadata: { 'X-Trace-Id': 'abc-123', owner: 'team a' },
        });
        const info = await impl.head(key);
        expect(info.key).toBe(key);
        expect(info.size).toBe(3);
        expect(info.contentType).toBe('text/plain; charset=utf-8');
        expect(info.cacheControl).toBe('max-age=60');
        expect(info.metadata).toEqual({ 'x-trace-id': 'abc-123', owner: 'team a' });
        const got = await impl.get(key);
        got.body.destroy();
        expect(got.metadata).toEqual({ 'x-trace-id': 'abc-123', owner: 'team a' });
      },
    },
    {
      name: 'put replaces an object whole, metadata included',
      async run(impl) {
        const key = k();
        await impl.put(key, 'first version, longer', { metadata: { v: '1' }, contentType: 'text/plain' });
        await impl.put(key, 'second');
        expect((await getBytes(impl, key)).toString()).toBe('second');
        const info = await impl.head(key);
        expect(info.size).toBe(6);
        expect(info.metadata).toEqual({});
        expect(info.contentType).toBe('application/octet-stream');
      },
    },
    {
      name: 'exists is true for a stored object and false for a missing one',
      async run(impl) {
        const key = k();
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'x');
        expect(await impl.exists(key)).toBe(true);
      },
    },
    {
      name: 'delete removes an object, and deleting a missing one succeeds',
      async run(impl) {
        const key = k();
        await impl.put(key, 'x');
        await impl.delete(key);
        expect(await impl.exists(key)).toBe(false);
        await impl.delete(key);
        await impl.delete(k());
        await expectInfrastructureError(() => impl.head(key), NOT_FOUND);
      },
    },
    {
      name: 'deleteMany removes the given objects, ignores missing ones and leaves others',
      async run(impl) {
        const keys = [k(), k(), k()];
        const keep = k();
        for (const key of [...keys, keep]) await impl.put(key, key);
        await impl.deleteMany([...keys, k()]);
        for (const key of keys) expect(await impl.exists(key)).toBe(false);
        expect(await impl.exists(keep)).toBe(true);
        await impl.deleteMany([]);
        expect(await impl.exists(keep)).toBe(true);
      },
    },
    {
      name: 'list yields the objects under a prefix, in key order, with size and etag',
      async run(impl) {
        const base = k();
        const prefix = `${base}/`;
        const names = ['b', 'a/2', 'a/10', 'c.txt', 'a/1', 'B', 'z/y/x'];
        const puts = new Map<string, { size: number; etag: string }>();
        for (const name of names)
          puts.set(`${prefix}${name}`, await impl.put(`${prefix}${name}`, `body of ${name}`));
        // A neighbour that shares the text of the prefix but not the prefix itself.
        await impl.put(`${base}x/outside`, 'no');
        const listed = await collect(impl.list(prefix));
        const expected = [...puts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(listed.map((o) => o.key)).toEqual(expected);
        for (const item of listed) {
          expect(item.size).toBe(puts.get(item.key)!.size);
          expect(item.etag).toBe(puts.get(item.key)!.etag);
          expect(item.lastModified).toBeInstanceOf(Date);
        }
        expect((await collect(impl.list(`${prefix}a/`))).map((o) => o.key)).toEqual([
          `${prefix}a/1`,
          `${prefix}a/10`,
          `${prefix}a/2`,
        ]);
      },
    },
    {
      name: 'list of a prefix with no objects yields nothing',
      async run(impl) {
        const other = k();
        await impl.put(other, 'not under the prefix');
        expect(await collect(impl.list(`${k()}/`))).toEqual([]);
        expect((await collect(impl.list(other))).map((o) => o.key)).toEqual([other]);
      },
    },
    {
      name: 'list stops after limit items',
      async run(impl) {
        const prefix = `${k()}/`;
        for (const name of ['d', 'a', 'c', 'b', 'e']) await impl.put(`${prefix}${name}`, name);
        const listed = await collect(impl.list(prefix, { limit: 3 }));
        expect(listed.map((o) => o.key)).toEqual([`${prefix}a`, `${prefix}b`, `${prefix}c`]);
        expect((await collect(impl.list(prefix, { limit: 50 }))).length).toBe(5);
      },
    },
    {
      name: 'list pages over 25 objects in order, can stop early, and can be iterated again',
      async run(impl) {
        const prefix = `${k()}/`;
        const keys = Array.from({ length: 25 }, (_, i) => `${prefix}item-${String(i).padStart(3, '0')}`);
        await Promise.all([...keys].reverse().map((key) => impl.put(key, key)));
        const listing = impl.list(prefix);
        const firstFive: string[] = [];
        for await (const item of listing) {
          firstFive.push(item.key);
          if (firstFive.length === 5) break;
        }
        expect(firstFive).toEqual(keys.slice(0, 5));
        expect((await collect(listing)).map((o) => o.key)).toEqual(keys);
      },
    },
    {
      name: 'copy duplicates bytes, content type and metadata, and keeps the source',
      async run(impl) {
        const from = k();
        const to = k();
        const data = pattern(1000, 5);
        await impl.put(from, data, { contentType: 'image/png', metadata: { origin: 'upload' } });
        const info = await impl.copy(from, to);
        expect(info.key).toBe(to);
        expect(info.size).toBe(1000);
        expect((await getBytes(impl, to)).equals(data)).toBe(true);
        const head = await impl.head(to);
        expect(head.contentType).toBe('image/png');
        expect(head.metadata).toEqual({ origin: 'upload' });
        expect((await getBytes(impl, from)).equals(data)).toBe(true);
        await impl.put(from, 'changed');
        expect((await getBytes(impl, to)).equals(data)).toBe(true);
      },
    },
    {
      name: 'getRange returns inclusive byte ranges, cut at the end of the object',
      async run(impl) {
        const key = k();
        const data = pattern(100);
        await impl.put(key, data);
        const cases: [number, number, Buffer][] = [
          [0, 0, data.subarray(0, 1)],
          [10, 19, data.subarray(10, 20)],
          [99, 99, data.subarray(99, 100)],
          [0, 99, data],
          [90, 1000, data.subarray(90)],
        ];
        for (const [start, end, expected] of cases) {
          const got = await impl.getRange(key, start, end);
          expect((await readAll(got.body)).equals(expected)).toBe(true);
          expect(got.size).toBe(100);
          expect(got.key).toBe(key);
        }
      },
    },
    {
      name: 'getRange rejects bad ranges with INVALID_ARGUMENT',
      async run(impl) {
        const key = k();
        await impl.put(key, pattern(100));
        const bad: [number, number][] = [
          [5, 4],
          [-1, 3],
          [0, -1],
          [1.5, 3],
          [0, 2.5],
          [Number.NaN, 3],
          [0, Number.POSITIVE_INFINITY],
          [100, 200],
          [1000, 1000],
        ];
        for (const [start, end] of bad) {
          await expectInfrastructureError(() => impl.getRange(key, start, end), INVALID_ARGUMENT);
        }
      },
    },
    {
      name: 'missing objects reject with NOT_FOUND (get, getRange, head, copy)',
      async run(impl) {
        const missing = k();
        await expectInfrastructureError(() => impl.get(missing), NOT_FOUND);
        await expectInfrastructureError(() => impl.getRange(missing, 0, 10), NOT_FOUND);
        await expectInfrastructureError(() => impl.head(missing), NOT_FOUND);
        await expectInfrastructureError(() => impl.copy(missing, k()), NOT_FOUND);
        expect(await impl.exists(missing)).toBe(false);
      },
    },
    {
      name: 'bad keys reject with INVALID_ARGUMENT in every operation',
      async run(impl) {
        const good = k();
        await impl.put(good, 'x');
        for (const [why, key] of BAD_KEYS) {
          const bad = key as string;
          const ops: [string, () => Promise<unknown>][] = [
            ['put', () => impl.put(bad, 'x')],
            ['get', () => impl.get(bad)],
            ['getRange', () => impl.getRange(bad, 0, 0)],
            ['head', () => impl.head(bad)],
            ['exists', () => impl.exists(bad)],
            ['delete', () => impl.delete(bad)],
            ['deleteMany', () => impl.deleteMany([good, bad])],
            ['copy from', () => impl.copy(bad, k())],
            ['copy to', () => impl.copy(good, bad)],
          ];
          if (options.signedUrl !== false) ops.push(['signedUrl', () => impl.signedUrl(bad)]);
          for (const [op, run] of ops) {
            try {
              const error = await expectInfrastructureError(run, INVALID_ARGUMENT);
              // The message names the field, never the key itself.
              expect(error.message).toMatch(/key/);
              if (typeof key === 'string' && key.length > 2) expect(error.message).not.toContain(key);
            } catch (error) {
              throw new Error(`${op} with a bad key (${why}): ${(error as Error).message}`);
            }
          }
        }
        // A failed deleteMany deleted nothing.
        expect(await impl.exists(good)).toBe(true);
      },
    },
    {
      name: 'dot and empty segments never reach another key: a/./b, ./x, a//b, a/ are refused or stay apart',
      async run(impl) {
        const base = k();
        const target = `${base}/a/b`;
        const original = await impl.put(target, 'the object at a/b');
        const source = `${base}/source`;
        await impl.put(source, 'copied over?');
        // S3 servers and HTTP clients fold these paths onto a/b; the port's rule refuses them.
        const aliases = [`${base}/a/./b`, `${base}/./a/b`, `${base}/a//b`, `${base}/a/b/`, `${base}/a/b/.`];
        // Refused with INVALID_ARGUMENT (true) or done to an object of its own (false).
        const refused = async (op: string, run: () => Promise<unknown>): Promise<boolean> => {
          try {
            await run();
            return false;
          } catch (error) {
            if (isInfrastructureError(error, INVALID_ARGUMENT)) return true;
            throw new Error(
              `${op} of a key with a dot or empty segment: expected INVALID_ARGUMENT or a separate object, got ${String(error)}`,
            );
          }
        };
        for (const alias of aliases) {
          if (!(await refused('put', () => impl.put(alias, `written as ${alias}`))))
            expect((await getBytes(impl, alias)).toString()).toBe(`written as ${alias}`);
          await refused('copy to', () => impl.copy(source, alias));
          await refused('delete', () => impl.delete(alias));
        }
        expect((await getBytes(impl, target)).toString()).toBe('the object at a/b');
        expect((await impl.head(target)).etag).toBe(original.etag);
        const listed = (await collect(impl.list(`${base}/a/`))).filter((o) => o.key === target);
        expect(listed.map((o) => o.etag)).toEqual([original.etag]);
        for (const prefix of [`${base}/./`, `${base}//`, `${base}/a/../`]) {
          try {
            expect(await collect(impl.list(prefix))).toEqual([]);
          } catch (error) {
            if (!isInfrastructureError(error, INVALID_ARGUMENT)) throw error;
          }
        }
      },
    },
    {
      name: 'a key of exactly 1024 UTF-8 bytes, and keys with spaces, unicode and dots, are accepted',
      async run(impl) {
        const keys = [longestKey(k()), `${k()}/with space/ünïcödé ✓/file.tar.gz`, `${k()}/b/.hidden/c..d`];
        for (const key of keys) {
          await impl.put(key, key);
          expect((await getBytes(impl, key)).toString()).toBe(key);
          await impl.delete(key);
        }
      },
    },
    {
      name: 'bad put and list options reject with INVALID_ARGUMENT',
      async run(impl) {
        const key = k();
        await expectInfrastructureError(() => impl.put(key, 'x', { size: -1 }), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.put(key, 'x', { size: 1.5 }), INVALID_ARGUMENT);
        await expectInfrastructureError(() => impl.put(key, 'x', { size: Number.NaN }), INVALID_ARGUMENT);
        await expectInfrastructureError(
          () => impl.put(key, 'x', { checksum: { algorithm: 'crc32' as never, value: 'abc' } }),
          INVALID_ARGUMENT,
        );
        await expectInfrastructureError(() => impl.put(key, 42 as never), INVALID_ARGUMENT);
        expect(await impl.exists(key)).toBe(false);
        for (const limit of [0, -1, 1.5, Number.NaN]) {
          await expectInfrastructureError(() => collect(impl.list(`${key}/`, { limit })), INVALID_ARGUMENT);
        }
      },
    },
    {
      name: 'a size that does not match the body rejects with INTEGRITY and stores nothing',
      async run(impl) {
        const key = k();
        await expectInfrastructureError(() => impl.put(key, chunked(pattern(10)), { size: 11 }), INTEGRITY);
        await expectInfrastructureError(() => impl.put(key, chunked(pattern(10)), { size: 9 }), INTEGRITY);
        await expectInfrastructureError(() => impl.put(key, 'four', { size: 5 }), INTEGRITY);
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'kept');
        await expectInfrastructureError(() => impl.put(key, chunked(pattern(10)), { size: 12 }), INTEGRITY);
        expect((await getBytes(impl, key)).toString()).toBe('kept');
      },
    },
    {
      name: 'a checksum mismatch rejects with INTEGRITY and stores nothing; a matching one is accepted',
      async run(impl) {
        const key = k();
        const data = Buffer.from('checked content');
        const md5 = createHash('md5').update(data).digest();
        const sha = createHash('sha256').update(data).digest();
        const wrongMd5 = createHash('md5').update('other').digest('hex');
        await expectInfrastructureError(
          () => impl.put(key, data, { checksum: { algorithm: 'md5', value: wrongMd5 } }),
          INTEGRITY,
        );
        await expectInfrastructureError(
          () =>
            impl.put(key, chunked(data, [3]), {
              checksum: {
                algorithm: 'sha256',
                value: createHash('sha256').update('x').digest('base64'),
                encoding: 'base64',
              },
            }),
          INTEGRITY,
        );
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, data, { checksum: { algorithm: 'md5', value: md5.toString('hex') } });
        await impl.put(key, chunked(data, [3]), {
          checksum: { algorithm: 'sha256', value: sha.toString('base64'), encoding: 'base64' },
        });
        expect((await getBytes(impl, key)).equals(data)).toBe(true);
      },
    },
    {
      name: 'a body stream that fails midway rejects with an InfrastructureError and stores nothing',
      async run(impl) {
        const key = k();
        await expectInfrastructureError(() => impl.put(key, failingStream(pattern(1000))));
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'before');
        await expectInfrastructureError(() => impl.put(key, failingStream(pattern(1000))));
        expect((await getBytes(impl, key)).toString()).toBe('before');
      },
    },
    {
      name: 'an aborted signal rejects put and get with ABORTED',
      async run(impl) {
        const key = k();
        const controller = new AbortController();
        controller.abort();
        await expectInfrastructureError(() => impl.put(key, 'x', { signal: controller.signal }), ABORTED);
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'x');
        await expectInfrastructureError(() => impl.get(key, { signal: controller.signal }), ABORTED);
      },
    },
    {
      name: 'put reports progress, ending at the full size',
      async run(impl) {
        const data = pattern(200_000);
        const seen: number[] = [];
        await impl.put(k(), chunked(data), { onProgress: (n) => seen.push(n) });
        expect(seen.length).toBeGreaterThan(0);
        expect(seen[seen.length - 1]).toBe(data.length);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
      },
    },
    {
      name: 'what is stored cannot be changed through the caller’s buffers',
      async run(impl) {
        const key = k();
        const input = new Uint8Array([1, 2, 3, 4]);
        await impl.put(key, input);
        input[0] = 99;
        const first = await getBytes(impl, key);
        expect([...first]).toEqual([1, 2, 3, 4]);
        first[1] = 99;
        expect([...(await getBytes(impl, key))]).toEqual([1, 2, 3, 4]);
      },
    },
    {
      name: '20 concurrent puts of different keys are all stored and readable',
      async run(impl) {
        const prefix = `${k()}/`;
        const keys = Array.from({ length: 20 }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
        await Promise.all(keys.map((key, i) => impl.put(key, chunked(pattern(10_000 + i, i)))));
        const bodies = await Promise.all(keys.map((key) => getBytes(impl, key)));
        bodies.forEach((body, i) => {
          expect(body.equals(pattern(10_000 + i, i))).toBe(true);
        });
        expect((await collect(impl.list(prefix))).map((o) => o.key)).toEqual(keys);
      },
    },
    {
      name: 'concurrent puts to one key leave exactly one whole value',
      async run(impl) {
        const key = k();
        const values = Array.from({ length: 10 }, (_, i) => Buffer.alloc(64 * 1024 + i, 65 + i));
        await Promise.all(values.map((value) => impl.put(key, chunked(value, [1000, 333]))));
        const stored = await getBytes(impl, key);
        const match = values.find((value) => value.equals(stored));
        expect(match).toBeDefined();
        expect((await impl.head(key)).size).toBe(stored.length);
      },
    },
  ];
  checks.push(objectStorageBadInputCheck({ keyPrefix, ...options.badInput }));
  checks.push(...objectStorageConsistencyChecks(options));
  checks.push(...lifecycleChecks<T>((storage) => storage));

  if (options.signedUrl === false) {
    checks.push({
      name: 'without signed URLs: capabilities.signedUrl is false and signedUrl rejects',
      async run(impl) {
        expect(impl.capabilities.signedUrl).toBe(false);
        const error = await expectInfrastructureError(() => impl.signedUrl(k()));
        expect(isInfrastructureError(error)).toBe(true);
      },
    });
    return checks;
  }

  checks.push(
    {
      name: 'capabilities.signedUrl is true',
      async run(impl) {
        expect(impl.capabilities.signedUrl).toBe(true);
      },
    },
    {
      name: 'a signed GET URL lets its bearer read the object',
      async run(impl) {
        const key = `${k()}/signed file ✓.bin`;
        const data = pattern(3000, 9);
        await impl.put(key, data);
        const url = await impl.signedUrl(key, { expiresInS: 300 });
        expect(typeof url).toBe('string');
        const response = await fetchSigned(impl, url, { method: 'GET' });
        expect(response.status).toBe(200);
        expect(Buffer.from(response.body).equals(data)).toBe(true);
        const other = await impl.signedUrl(k(), { expiresInS: 300 });
        expect(other).not.toBe(url);
      },
    },
    {
      name: 'a signed PUT URL lets its bearer write the object',
      async run(impl) {
        const key = k();
        const url = await impl.signedUrl(key, { method: 'PUT', expiresInS: 300, contentType: 'text/csv' });
        const response = await fetchSigned(impl, url, {
          method: 'PUT',
          body: Buffer.from('a,b\n1,2\n'),
          contentType: 'text/csv',
        });
        expect(response.status).toBe(200);
        expect((await getBytes(impl, key)).toString()).toBe('a,b\n1,2\n');
        expect((await impl.head(key)).contentType).toBe('text/csv');
      },
    },
    {
      name: 'signedUrl rejects bad options with INVALID_ARGUMENT',
      async run(impl) {
        const key = k();
        for (const expiresInS of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectInfrastructureError(() => impl.signedUrl(key, { expiresInS }), INVALID_ARGUMENT);
        }
        await expectInfrastructureError(
          () => impl.signedUrl(key, { method: 'DELETE' as never }),
          INVALID_ARGUMENT,
        );
      },
    },
  );
  return checks;
}

async function fetchWithGlobalFetch(
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

/**
 * Registers the `ObjectStorage` conformance suite: every check of {@link objectStorageChecks}
 * as its own `it(...)`, each against a fresh implementation from `factory`, with random keys.
 *
 * @example
 * describeObjectStorage('MemoryObjectStorage', () => new MemoryObjectStorage(), {
 *   fetchSignedUrl: (impl, url, init) => impl.fetchSigned(url, init),
 * });
 */
export function describeObjectStorage<T extends ObjectStorage>(
  factory: () => T | Promise<T>,
  options?: ObjectStorageConformanceOptions<T>,
): void;
export function describeObjectStorage<T extends ObjectStorage>(
  name: string,
  factory: () => T | Promise<T>,
  options?: ObjectStorageConformanceOptions<T>,
): void;
export function describeObjectStorage(...args: unknown[]): void {
  const what = 'describeObjectStorage';
  const { name, factory, options } = suiteArguments<
    () => ObjectStorage | Promise<ObjectStorage>,
    ObjectStorageConformanceOptions
  >(what, args);
  const runner = resolveRunner(options.runner, what);
  describeChecks(name ?? 'ObjectStorage conformance', objectStorageChecks(options), factory, {
    ...options,
    runner,
  });
}
