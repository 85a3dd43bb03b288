import { Readable } from 'node:stream';
import type { ObjectStorage, PutBody } from '../ports/storage.js';
import { expect } from './assert.js';
import {
  asyncChunks,
  chunked,
  getBytes,
  type ObjectStorageTopicContext,
  pattern,
  readAll,
  sha256,
} from './object-storage-support.js';
import type { ConformanceCheck } from './shared.js';

// ObjectStorage suite, round trips: what is put comes back, byte for byte, whatever the body.

/** A put then a get: the bytes and the object info, every byte value. */
export function roundTripChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
  ];
}

/** Bodies of every kind put accepts: streams, async iterables, empty ones and a large one. */
export function bodyKindChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const { newKey: k, largeBytes } = context;
  return [
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
  ];
}
