import { ErrorCodes, isInfrastructureError } from '../errors.js';
import type { ObjectStorage } from '../ports/storage.js';
import { expect } from './assert.js';
import { getBytes, type ObjectStorageTopicContext, pattern } from './object-storage-support.js';
import { type ConformanceCheck, expectInfrastructureError } from './shared.js';

// ObjectStorage suite, signed URLs: what their bearer can do, or, for a driver without them,
// that it says so.

const { INVALID_ARGUMENT } = ErrorCodes;

/** The signed-URL checks that fit the driver: with signed URLs, or without. */
export function signedUrlChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  return context.signedUrl ? signedUrlAccessChecks(context) : [withoutSignedUrlCheck(context)];
}

/** A driver without signed URLs says so and refuses to sign. */
function withoutSignedUrlCheck<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T> {
  const k = context.newKey;
  return {
    name: 'without signed URLs: capabilities.signedUrl is false and signedUrl rejects',
    async run(impl) {
      expect(impl.capabilities.signedUrl).toBe(false);
      const error = await expectInfrastructureError(() => impl.signedUrl(k()));
      expect(isInfrastructureError(error)).toBe(true);
    },
  };
}

/** Signed GET and PUT URLs let their bearer read and write; bad options are refused. */
function signedUrlAccessChecks<T extends ObjectStorage>(
  context: ObjectStorageTopicContext<T>,
): ConformanceCheck<T>[] {
  const { newKey: k, fetchSigned } = context;
  return [
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
  ];
}
