import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import {
  chunked,
  collect,
  getBytes,
  type ObjectStorageTopicContext,
  pattern,
} from './object-storage-support.js';
import type { ConformanceCheck } from './shared.js';

// ObjectStorage suite, concurrency: concurrent puts of many keys and of one key.

/** Concurrent puts keep every object whole. */
export function concurrencyChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
}
