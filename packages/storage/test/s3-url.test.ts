import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createFsStorage, createS3Storage, parseS3Url } from '../src/index.js';

function refusal(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    expect(error).not.toBeInstanceOf(URIError);
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    return error as Error;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('parseS3Url with malformed percent escapes', () => {
  it.each([
    ['secret key', 's3://AK:se%zzcret-value@host:9000/bucket', 'secret key'],
    ['secret key (lone %)', 's3://AK:secret-value%@host:9000/bucket', 'secret key'],
    ['secret key (not UTF-8)', 's3://AK:secret-value%C3%28@host:9000/bucket', 'secret key'],
    ['access key', 's3://A%zzK:secret-value@host:9000/bucket', 'access key'],
    ['bucket', 's3://AK:secret-value@host:9000/buck%zzet', 'bucket'],
  ])('%s: INVALID_ARGUMENT naming the part, never a URIError, never the secret', (_why, url, part) => {
    for (const action of [() => parseS3Url(url), () => createS3Storage(url)]) {
      const error = refusal(action);
      expect(error.message).toMatch(/^\[voelgoed:storage\] S3 URL /);
      expect(error.message).toContain(part);
      const text = `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)}`;
      expect(text).not.toContain('secret-value');
      expect(text).not.toContain('cret-value');
      expect(text).not.toContain(url);
    }
  });

  it('well-formed escapes still decode', () => {
    expect(parseS3Url('s3://A%2BK:se%2Fcr%40et@host:9000/bucket')).toMatchObject({
      accessKey: 'A+K',
      secretKey: 'se/cr@et',
      bucket: 'bucket',
      endPoint: 'host',
      port: 9000,
    });
  });
});

describe('options a driver does not have', () => {
  const base = { endPoint: '127.0.0.1', port: 9, accessKey: 'AK', secretKey: 'secret-value', bucket: 'b' };
  it.each([
    ["minio's transportAgent", { ...base, transportAgent: {} }, 'transportAgent'],
    ['a misspelt partSize', { ...base, partsize: 5 * 1024 * 1024 }, 'partsize'],
  ])('S3, %s: INVALID_ARGUMENT naming the field, never its value or the secret', (_why, options, field) => {
    const error = refusal(() => createS3Storage(options as never));
    expect(error.message).toContain(`unknown field "${field}"`);
    expect(`${inspect(error, { depth: 10, showHidden: true })}`).not.toContain('secret-value');
  });

  it('filesystem: a misspelt option is INVALID_ARGUMENT; one left undefined is no mistake', () => {
    expect(refusal(() => createFsStorage({ root: '/tmp/x', fsynk: true } as never)).message).toContain(
      'unknown field "fsynk"',
    );
    expect(() => createFsStorage({ root: '/tmp/voelgoed-unused', fsynk: undefined } as never)).not.toThrow();
  });
});

describe('publicUrl', () => {
  const base = { endPoint: '127.0.0.1', port: 9, accessKey: 'AK', secretKey: 'secret-value', bucket: 'bkt' };
  it.each([
    ['a path prefix', 'https://cdn.example.com/s3/'],
    ['a path without a trailing slash', 'https://cdn.example.com/s3'],
    ['a fragment', 'https://cdn.example.com/#x'],
  ])(
    'with %s is INVALID_ARGUMENT at creation (the signature covers the path the server sees)',
    (_why, publicUrl) => {
      expect(refusal(() => createS3Storage({ ...base, publicUrl })).message).toContain('publicUrl');
      expect(
        refusal(() =>
          createS3Storage(`s3://AK:secret-value@127.0.0.1:9/bkt?publicUrl=${encodeURIComponent(publicUrl)}`),
        ).message,
      ).toContain('publicUrl');
    },
  );

  it('an origin, with or without the trailing slash, signs URLs for that origin', async () => {
    for (const publicUrl of [
      'https://cdn.example.com',
      'https://cdn.example.com/',
      'http://cdn.example.com:8080',
    ]) {
      const storage = createS3Storage({ ...base, publicUrl });
      const url = new URL(await storage.signedUrl('k/a b'));
      expect(url.origin).toBe(new URL(publicUrl).origin);
      expect(url.pathname).toBe('/bkt/k/a%20b');
      await storage.close();
    }
  });
});
