import { describe, expect, it } from '@jest/globals';
import { isInfrastructureError, validateObjectKey, validateObjectKeyPrefix } from '../src/index.js';

const P = '[voelgoed:test]';

function refusal(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    return error as Error;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('validateObjectKey', () => {
  it.each([
    ['a'],
    ['a/b/c.txt'],
    ['with space/ünïcödé ✓'],
    ['.hidden/..dots../x..'],
    ['x'.repeat(1024)],
    ['é'.repeat(512)],
    ['\u{1F600}'],
  ])('accepts %j', (key) => {
    expect(() => validateObjectKey(key, P)).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['a number', 7],
    ['undefined', undefined],
    ['a leading slash', '/a'],
    ['a .. segment', 'a/../b'],
    ['a trailing .. segment', 'a/..'],
    ['only ..', '..'],
    ['an empty segment', 'a//b'],
    ['a trailing slash', 'trailing/'],
    ['a leading . segment', './x'],
    ['a . segment', 'a/./b'],
    ['only .', '.'],
    ['NUL', 'a\u0000'],
    ['a tab', 'a\tb'],
    ['DEL', '\u007f'],
    ['a C1 control', 'a\u0085b'],
    ['1025 bytes', 'x'.repeat(1025)],
    ['1026 bytes in 513 characters', 'é'.repeat(513)],
    ['a lone surrogate', 'a\uD800b'],
  ])('refuses %s with INVALID_ARGUMENT, without echoing the key', (_why, key) => {
    const error = refusal(() => validateObjectKey(key, P));
    expect(error.message.startsWith(`${P} object key`)).toBe(true);
    if (typeof key === 'string' && key.length > 2) expect(error.message).not.toContain(key);
  });

  it('names what it checks', () => {
    expect(refusal(() => validateObjectKey('', P, 'source key')).message).toBe(
      `${P} source key must be a non-empty string`,
    );
  });
});

describe('validateObjectKeyPrefix', () => {
  it('accepts undefined, empty and key-like prefixes', () => {
    expect(validateObjectKeyPrefix(undefined, P)).toBe('');
    expect(validateObjectKeyPrefix('', P)).toBe('');
    expect(validateObjectKeyPrefix('a/b/', P)).toBe('a/b/');
  });

  it('refuses non-strings, leading slashes, control characters and overlong prefixes', () => {
    for (const bad of [5, '/a', 'a\nb', 'x'.repeat(1025)]) refusal(() => validateObjectKeyPrefix(bad, P));
  });
});
