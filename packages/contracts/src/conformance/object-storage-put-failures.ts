import { createHash } from 'node:crypto';
import { ErrorCodes } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import {
  chunked,
  collect,
  failingStream,
  getBytes,
  type ObjectStorageTopicContext,
  pattern,
} from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, refused puts: bad options, sizes and checksums that do not match, and
// bodies that fail. A refused put stores nothing.

const { INVALID_ARGUMENT, INTEGRITY } = ErrorCodes;

/** Bad put and list options, and a declared size the body does not have. */
export function putValidationChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
  ];
}

/** Checksums that do not match, and a body stream that fails midway. */
export function putIntegrityChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const k = context.newKey;
  return [
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
  ];
}
