import type { SignedUrlOptions } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';

/** Checks a `getRange` start and end (inclusive): integers with 0 <= start <= end. */
export function validateRange(start: unknown, end: unknown): void {
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0)
    throw invalidArgument('range start must be a non-negative integer');
  if (typeof end !== 'number' || !Number.isSafeInteger(end) || end < start)
    throw invalidArgument('range end must be an integer >= start (both inclusive)');
}

/** Default lifetime of a signed URL, seconds. */
export const DEFAULT_SIGNED_URL_EXPIRES_IN_S = 900;

/** Checks `signedUrl` options; the lifetime is capped at `maxExpiresInS`. */
export function validateSignedUrlOptions(
  options: SignedUrlOptions,
  maxExpiresInS: number,
): { method: 'GET' | 'PUT'; expiresInS: number } {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('signedUrl options must be an object');
  const method = options.method ?? 'GET';
  if (method !== 'GET' && method !== 'PUT') throw invalidArgument("signedUrl method must be 'GET' or 'PUT'");
  const expires = options.expiresInS ?? DEFAULT_SIGNED_URL_EXPIRES_IN_S;
  if (typeof expires !== 'number' || !Number.isFinite(expires) || expires <= 0)
    throw invalidArgument('expiresInS must be a positive number of seconds');
  return { method, expiresInS: Math.min(Math.ceil(expires), maxExpiresInS) };
}

/** Checks an optional duration: undefined or a non-negative integer of milliseconds. */
export function validateMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw invalidArgument(`${name} must be a non-negative integer of milliseconds`);
  return value;
}
