import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { collect, getBytes, type ObjectStorageTopicContext } from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, object info: etags, content type, cache control and metadata.

/** The etag, head's info and user metadata, and what a replacing put does to them. */
export function metadataChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
      name: 'a metadata value, content type or cache control with a space at either end is INVALID_ARGUMENT, and nothing is stored',
      async run(impl) {
        // HTTP trims a header's value: S3 refused the signature, or would hand the value back trimmed.
        const key = k();
        for (const options of [
          { metadata: { note: 'x ' } },
          { metadata: { note: ' x' } },
          { cacheControl: 'no-cache ' },
          { contentType: ' text/plain' },
        ]) {
          await expectInfrastructureError(() => impl.put(key, 'body', options), ErrorCodes.INVALID_ARGUMENT);
        }
        expect(await impl.exists(key)).toBe(false);
        await impl.put(key, 'body', { metadata: { note: 'a b', empty: '' } });
        expect((await impl.head(key)).metadata).toEqual({ note: 'a b', empty: '' });
      },
    },
  ];
}
