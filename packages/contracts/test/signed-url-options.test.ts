import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_SIGNED_URL_EXPIRES_IN_S,
  isInfrastructureError,
  MAX_SIGNED_URL_EXPIRES_IN_S,
  readSignedUrlOptions,
} from '../src/index.js';

const P = '[test]';

function refusal(options: unknown, max?: number): string {
  try {
    readSignedUrlOptions(options, P, max);
  } catch (error) {
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`accepted ${String(options)}`);
}

describe('readSignedUrlOptions', () => {
  it('defaults to GET for the default lifetime, without a content type', () => {
    expect(readSignedUrlOptions(undefined, P)).toEqual({
      method: 'GET',
      expiresInS: DEFAULT_SIGNED_URL_EXPIRES_IN_S,
      contentType: undefined,
    });
    expect(readSignedUrlOptions({}, P)).toEqual(readSignedUrlOptions(undefined, P));
  });

  it('rounds the lifetime up to whole seconds and caps it at the maximum', () => {
    expect(readSignedUrlOptions({ method: 'PUT', expiresInS: 1.2, contentType: 'text/plain' }, P)).toEqual({
      method: 'PUT',
      expiresInS: 2,
      contentType: 'text/plain',
    });
    expect(readSignedUrlOptions({ expiresInS: 10 ** 9 }, P).expiresInS).toBe(MAX_SIGNED_URL_EXPIRES_IN_S);
    expect(readSignedUrlOptions({ expiresInS: 500 }, P, 60).expiresInS).toBe(60);
  });

  it.each([
    ['a method other than GET or PUT', { method: 'DELETE' }, /method/],
    ['a lower-case method', { method: 'get' }, /method/],
    ['a zero lifetime', { expiresInS: 0 }, /expiresInS/],
    ['a negative lifetime', { expiresInS: -5 }, /expiresInS/],
    ['an infinite lifetime', { expiresInS: Number.POSITIVE_INFINITY }, /expiresInS/],
    ['a NaN lifetime', { expiresInS: Number.NaN }, /expiresInS/],
    ['a lifetime as a string', { expiresInS: '60' }, /expiresInS/],
    ['a content type with a newline', { contentType: 'text/plain\r\nx-evil: 1' }, /contentType/],
    ['a non-ASCII content type', { contentType: 'text/é' }, /contentType/],
    ['options that are not an object', 'GET', /signedUrl options/],
  ])('refuses %s as INVALID_ARGUMENT', (_what, options, message) => {
    expect(refusal(options)).toMatch(message);
  });

  it('refuses options whose fields cannot be read', () => {
    const hostile = {
      get method(): string {
        throw new Error('boom');
      },
    };
    expect(refusal(hostile)).toMatch(/method/);
  });
});
