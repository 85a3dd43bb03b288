import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { getBytes, type ObjectStorageTopicContext, pattern } from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, whole objects: exists, delete, deleteMany and copy.

const { NOT_FOUND } = ErrorCodes;

/** Deleting one object or many, and copying one. */
export function copyDeleteChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
  ];
}
