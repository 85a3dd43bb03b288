import { createHash } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import {
  checksumDigest,
  DEFAULT_OBJECT_CONTENT_TYPE,
  quietProgress,
  readHeaderOption,
  readObjectMetadata,
  readPutChecksum,
  readPutOptions,
} from '../src/index.js';
import { P, refusal } from './support/refusal.js';

const md5 = createHash('md5').update('x').digest();
const sha = createHash('sha256').update('x').digest();

describe('readHeaderOption (contentType, cacheControl)', () => {
  it.each([
    ['text/plain; charset=utf-8'],
    ['max-age=60, must-revalidate'],
    ['inner  spaces and ~ punctuation !'],
    ['x'],
  ])('accepts %j', (value) => {
    expect(readHeaderOption(value, 'contentType', P)).toBe(value);
  });

  it('passes undefined through', () => {
    expect(readHeaderOption(undefined, 'contentType', P)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['a CR LF (header injection)', 'text/plain\r\nx: y'],
    ['a tab', 'a\tb'],
    ['a NUL', 'a\u0000'],
    ['DEL', 'a\u007f'],
    ['non-ASCII', 'text/plain; name=é'],
    ['a leading space (HTTP would drop it)', ' text/plain'],
    ['a trailing space', 'no-cache '],
    ['a number', 42],
    ['null', null],
  ])('refuses %s', (_, value) => {
    expect(refusal(() => readHeaderOption(value, 'cacheControl', P)).message).toContain('cacheControl');
  });
});

describe('readObjectMetadata', () => {
  it('lower-cases names and keeps printable ASCII values (empty allowed)', () => {
    expect(readObjectMetadata({ 'X-Trace-Id': 'abc-123', owner: 'team a', e: '' }, P)).toEqual({
      'x-trace-id': 'abc-123',
      owner: 'team a',
      e: '',
    });
    expect(readObjectMetadata(undefined, P)).toEqual({});
    expect(readObjectMetadata(Object.assign(Object.create(null), { a: '1' }), P)).toEqual({ a: '1' });
    expect(readObjectMetadata({ "!#$%&'*+.^_`|~-": 'v' }, P)).toEqual({ "!#$%&'*+.^_`|~-": 'v' });
  });

  it.each([
    ['a name with a space', { 'bad name': 'x' }],
    ['an empty name', { '': 'x' }],
    ['a name with a colon', { 'a:b': 'x' }],
    ['a non-ASCII name', { naïve: 'x' }],
    ['a value with a line break', { ok: 'line\nbreak' }],
    ['a non-ASCII value', { ok: 'café' }],
    ['a number value', { ok: 1 }],
    ['null', null],
    ['a string', 'a=b'],
    ['an array', [['a', 'b']]],
    ['a Map', new Map([['a', 'b']])],
    [
      'a class instance',
      new (class Meta {
        a = 'b';
      })(),
    ],
  ])('refuses %s', (_, metadata) => {
    refusal(() => readObjectMetadata(metadata, P));
  });

  it('refuses a Proxy whose traps throw, as INVALID_ARGUMENT', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(refusal(() => readObjectMetadata(hostile, P)).message).toContain('could not be read');
  });
});

describe('readPutChecksum', () => {
  it.each([
    [{ algorithm: 'md5', value: md5.toString('hex') }],
    [{ algorithm: 'md5', value: md5.toString('hex').toUpperCase() }],
    [{ algorithm: 'md5', value: md5.toString('base64'), encoding: 'base64' }],
    [{ algorithm: 'sha256', value: sha.toString('hex'), encoding: 'hex' }],
    [{ algorithm: 'sha256', value: sha.toString('base64'), encoding: 'base64' }],
  ])('accepts %j', (checksum) => {
    expect(readPutChecksum(checksum, P)).toEqual(checksum);
  });

  it.each([
    ['an unknown algorithm', { algorithm: 'crc32', value: 'abc' }],
    ['an unknown encoding', { algorithm: 'md5', value: md5.toString('hex'), encoding: 'utf8' }],
    ['a value that is not hex', { algorithm: 'md5', value: 'not-hex' }],
    ['a hex value one byte short', { algorithm: 'md5', value: md5.toString('hex').slice(2) }],
    ['an md5 given for sha256', { algorithm: 'sha256', value: md5.toString('hex') }],
    [
      'a base64 value of the wrong length',
      { algorithm: 'sha256', value: md5.toString('base64'), encoding: 'base64' },
    ],
    ['a base64 value with bad characters', { algorithm: 'md5', value: '!!!!', encoding: 'base64' }],
    ['an empty value', { algorithm: 'md5', value: '' }],
    ['a number value', { algorithm: 'md5', value: 5 }],
    ['null', null],
    ['a string', 'md5'],
  ])('refuses %s', (_, checksum) => {
    refusal(() => readPutChecksum(checksum, P));
  });

  it('passes undefined through', () => {
    expect(readPutChecksum(undefined, P)).toBeUndefined();
  });

  it('gives the digest of an accepted checksum as bytes (checksumDigest)', () => {
    for (const [digest, algorithm] of [
      [md5, 'md5'],
      [sha, 'sha256'],
    ] as const) {
      for (const checksum of [
        { algorithm, value: digest.toString('hex').toUpperCase() },
        { algorithm, value: digest.toString('base64'), encoding: 'base64' as const },
      ]) {
        const accepted = readPutChecksum(checksum, P);
        expect(accepted && checksumDigest(accepted).equals(digest)).toBe(true);
      }
    }
  });
});

describe('readPutOptions', () => {
  it('reads every field once into checked, normalised options', () => {
    const signal = new AbortController().signal;
    const read = readPutOptions(
      {
        contentType: 'text/csv',
        cacheControl: 'no-store',
        metadata: { Who: 'me' },
        size: 3,
        checksum: { algorithm: 'md5', value: md5.toString('hex') },
        onProgress: () => undefined,
        signal,
      },
      P,
    );
    expect(read).toMatchObject({
      contentType: 'text/csv',
      cacheControl: 'no-store',
      metadata: { who: 'me' },
      size: 3,
      checksum: { algorithm: 'md5', value: md5.toString('hex') },
      signal,
    });
    expect(typeof read.onProgress).toBe('function');
  });

  it('defaults the content type and leaves the rest out', () => {
    expect(readPutOptions(undefined, P)).toEqual({
      contentType: DEFAULT_OBJECT_CONTENT_TYPE,
      cacheControl: undefined,
      metadata: {},
      size: undefined,
      checksum: undefined,
      onProgress: undefined,
      signal: undefined,
    });
    expect(DEFAULT_OBJECT_CONTENT_TYPE).toBe('application/octet-stream');
  });

  it.each([
    ['options that are not an object', 'text/plain'],
    ['a negative size', { size: -1 }],
    ['a fractional size', { size: 1.5 }],
    ['a NaN size', { size: Number.NaN }],
    ['a string size', { size: '3' }],
    ['a bad content type', { contentType: 'a\nb' }],
    ['a bad cache control', { cacheControl: '' }],
    ['bad metadata', { metadata: { 'a b': 'c' } }],
    ['a bad checksum', { checksum: { algorithm: 'md5', value: 'x' } }],
    ['an onProgress that is not a function', { onProgress: 'later' }],
    ['a signal look-alike', { signal: { aborted: true } }],
  ])('refuses %s', (_, options) => {
    refusal(() => readPutOptions(options, P));
  });

  it('reads a getter once: it cannot answer one thing to the check and another later', () => {
    let reads = 0;
    const options = {
      get contentType() {
        reads += 1;
        return reads === 1 ? 'text/plain' : 'a\r\nb';
      },
    };
    expect(readPutOptions(options, P).contentType).toBe('text/plain');
    expect(reads).toBe(1);
  });

  it('refuses options whose getter throws, as INVALID_ARGUMENT naming the field', () => {
    const options = {
      get metadata(): never {
        throw new Error('getter');
      },
    };
    expect(refusal(() => readPutOptions(options, P)).message).toContain('metadata');
  });
});

describe('quietProgress', () => {
  it('calls the callback and ignores what it throws or rejects with', async () => {
    const seen: number[] = [];
    const throwing = quietProgress((bytes: number) => {
      seen.push(bytes);
      throw new Error('callback');
    }, P);
    expect(() => throwing?.(5)).not.toThrow();
    const rejecting = jest.fn(async (_bytes: number) => {
      throw new Error('async callback');
    });
    const quiet = quietProgress(rejecting, P);
    expect(() => quiet?.(7)).not.toThrow();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([5]);
    expect(rejecting).toHaveBeenCalledWith(7);
  });

  it('passes undefined through and refuses a non-function', () => {
    expect(quietProgress(undefined, P)).toBeUndefined();
    refusal(() => quietProgress(42, P));
  });
});
