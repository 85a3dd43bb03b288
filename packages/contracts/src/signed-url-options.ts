import { readOptions } from './caller-input.js';
import { InvalidArgumentError } from './errors.js';
import { readHeaderOption } from './put-options.js';

/** A signed URL's lifetime when the caller names none, seconds. */
export const DEFAULT_SIGNED_URL_EXPIRES_IN_S = 900;
/** The longest lifetime a signed URL may have, seconds (S3's SigV4 limit: seven days). */
export const MAX_SIGNED_URL_EXPIRES_IN_S = 7 * 24 * 3600;

/** `signedUrl` options, checked: the method, the lifetime (whole seconds, capped) and the content type. */
export interface CheckedSignedUrlOptions {
  method: 'GET' | 'PUT';
  /** Whole seconds, rounded up and capped at the driver's maximum. */
  expiresInS: number;
  contentType: string | undefined;
}

/**
 * Reads `signedUrl` options once and checks them, as every ObjectStorage does: the method is GET
 * or PUT (GET when absent), the lifetime a positive finite number of seconds (rounded up, capped
 * at `maxExpiresInS`), the content type a header value. Anything else is `INVALID_ARGUMENT`.
 */
export function readSignedUrlOptions(
  options: unknown,
  prefix: string,
  maxExpiresInS = MAX_SIGNED_URL_EXPIRES_IN_S,
): CheckedSignedUrlOptions {
  const read = readOptions(options, ['method', 'expiresInS', 'contentType'], 'signedUrl options', prefix);
  const method = read.method ?? 'GET';
  if (method !== 'GET' && method !== 'PUT') {
    throw new InvalidArgumentError(`${prefix} signedUrl method must be 'GET' or 'PUT'`);
  }
  const expires = read.expiresInS ?? DEFAULT_SIGNED_URL_EXPIRES_IN_S;
  if (typeof expires !== 'number' || !Number.isFinite(expires) || expires <= 0) {
    throw new InvalidArgumentError(`${prefix} expiresInS must be a positive number of seconds`);
  }
  return {
    method,
    expiresInS: Math.min(Math.ceil(expires), maxExpiresInS),
    contentType: readHeaderOption(read.contentType, 'contentType', prefix),
  };
}
