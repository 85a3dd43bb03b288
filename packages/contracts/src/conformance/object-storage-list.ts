import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { collect, type ObjectStorageTopicContext } from './object-storage-support.js';
import type { ConformanceCheck } from './shared.js';

// ObjectStorage suite, listing: what list yields under a prefix, and how it pages.

/** Which objects list yields, in which order, with which info. */
export function listContentChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
          const put = puts.get(item.key);
          expect(item.size).toBe(put?.size);
          expect(item.etag).toBe(put?.etag);
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
      name: 'keys with long segments list in key order too, their neighbours interleaved',
      async run(impl) {
        // A driver that stores a long segment in pieces must still sort what follows the piece
        // against its neighbours: '-' (0x2d) < '/' (0x2f) < '0' (0x30).
        const prefix = `${k()}/`;
        const long = 'x'.repeat(200);
        const keys = [`${long}0`, `${long}/b`, `${long}-`, long, `${long}${'y'.repeat(250)}/c`, `${long}.`];
        for (const key of keys) await impl.put(`${prefix}${key}`, key);
        const expected = keys
          .map((key) => `${prefix}${key}`)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect((await collect(impl.list(prefix))).map((o) => o.key)).toEqual(expected);
        // Paging stops at the right two.
        expect((await collect(impl.list(prefix, { limit: 2 }))).map((o) => o.key)).toEqual(
          expected.slice(0, 2),
        );
        expect((await collect(impl.list(`${prefix}${long}`))).map((o) => o.key)).toEqual(expected);
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
  ];
}

/** Limits, pages, stopping early and iterating again. */
export function listPagingChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
  ];
}
