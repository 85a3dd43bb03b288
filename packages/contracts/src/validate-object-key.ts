import { InvalidArgumentError } from './errors.js';

/** Longest object key, in UTF-8 bytes (the S3 limit). */
export const MAX_OBJECT_KEY_BYTES = 1024;

// C0 controls, DEL and C1 controls (Unicode category Cc).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
// A surrogate half without its partner cannot be encoded as UTF-8.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Describes the first `/`-separated segment no key may hold: empty (`a//b`, `a/`), `.` or `..`.
 * HTTP clients and S3 servers fold such segments (`PUT /bucket/a/./b` stores `a/b`), so on S3
 * they would name another object than on the filesystem or in memory; refusing them everywhere
 * keeps one key one object on every driver.
 */
function badSegment(segments: readonly string[]): string | undefined {
  for (const segment of segments) {
    if (segment === '') return "an empty segment ('//' or a trailing '/')";
    if (segment === '.') return "a '.' segment";
    if (segment === '..') return "a '..' segment";
  }
  return undefined;
}

/**
 * Checks an object key against the rule of the `ObjectStorage` port, so that every driver
 * (memory, filesystem, S3) refuses the same keys and a key names the same object on each: a
 * non-empty string of at most 1024 UTF-8 bytes, without a leading '/', without an empty, '.'
 * or '..' segment (so no '//', no trailing '/', no './' or '/./'), without control characters
 * (and without lone UTF-16 surrogates, which have no UTF-8 form). Throws `InvalidArgumentError`
 * whose message starts with `prefix` (e.g. `[voelgoed:storage]`) and names the field (`what`);
 * the key itself is never echoed (keys may hold user data).
 */
export function validateObjectKey(key: unknown, prefix: string, what = 'object key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgumentError(`${prefix} ${what} must be a non-empty string`);
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_OBJECT_KEY_BYTES) {
    throw new InvalidArgumentError(`${prefix} ${what} must be at most ${MAX_OBJECT_KEY_BYTES} UTF-8 bytes`);
  }
  if (key.startsWith('/')) {
    throw new InvalidArgumentError(`${prefix} ${what} must not start with '/'`);
  }
  const bad = badSegment(key.split('/'));
  if (bad !== undefined) {
    throw new InvalidArgumentError(
      `${prefix} ${what} must not contain ${bad}: empty, '.' and '..' segments are refused on every driver`,
    );
  }
  if (CONTROL_CHARS.test(key)) {
    throw new InvalidArgumentError(`${prefix} ${what} must not contain control characters`);
  }
  if (LONE_SURROGATE.test(key)) {
    throw new InvalidArgumentError(`${prefix} ${what} must be valid Unicode (lone surrogate)`);
  }
}

/**
 * Checks a listing prefix: `undefined` or a string (empty allowed) that could start a valid
 * key: at most 1024 UTF-8 bytes, no leading '/', no control characters or lone surrogates, and
 * every complete segment (each one followed by a '/') neither empty, '.' nor '..' (`a//`, `./`
 * or `a/../` could start no key). The last, partial segment may be anything (`a/.` starts
 * `a/.hidden`). Returns the prefix (`''` for `undefined`).
 */
export function validateObjectKeyPrefix(value: unknown, prefix: string): string {
  if (value === undefined || value === '') return '';
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(`${prefix} list prefix must be a string`);
  }
  if (
    Buffer.byteLength(value, 'utf8') > MAX_OBJECT_KEY_BYTES ||
    value.startsWith('/') ||
    CONTROL_CHARS.test(value) ||
    LONE_SURROGATE.test(value)
  ) {
    throw new InvalidArgumentError(
      `${prefix} list prefix must be at most ${MAX_OBJECT_KEY_BYTES} UTF-8 bytes, without a leading '/', control characters or lone surrogates`,
    );
  }
  if (badSegment(value.split('/').slice(0, -1)) !== undefined) {
    throw new InvalidArgumentError(
      `${prefix} list prefix must not contain an empty, '.' or '..' segment before a '/' (no key can start with it)`,
    );
  }
  return value;
}
