import { MAX_OBJECT_KEY_BYTES, validateObjectKey, validateObjectKeyPrefix } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** The longest key accepted, in UTF-8 bytes (the S3 limit). */
export const MAX_KEY_BYTES = MAX_OBJECT_KEY_BYTES;

/**
 * Checks an object key against the port's rule (the contracts' `validateObjectKey`, shared by
 * every driver): a non-empty string of at most 1024 UTF-8 bytes, no leading '/', no empty,
 * '.' or '..' segment (S3 would fold them onto another key), no control characters (NUL
 * included). Throws `InvalidArgumentError` naming `what`; messages never echo the key.
 */
export function validateKey(key: unknown, what = 'object key'): asserts key is string {
  validateObjectKey(key, MESSAGE_PREFIX, what);
}

/** Checks a list prefix (`undefined` and `''` list everything); returns it as a string. */
export function validatePrefix(prefix: unknown): string {
  return validateObjectKeyPrefix(prefix, MESSAGE_PREFIX);
}

/** Checks a list limit: undefined or an integer >= 1. */
export function validateLimit(limit: unknown): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw invalidArgument('list limit must be an integer >= 1');
  }
  return limit;
}
