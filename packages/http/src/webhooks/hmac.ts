import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';
import { payloadBytes } from './secrets.js';

export interface HmacSignatureOptions {
  /** Hash algorithm (default `sha256`; e.g. `sha512`, `sha1`). */
  algorithm?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** How the signature is encoded (default `hex`). */
  encoding?: 'hex' | 'base64' | 'base64url';
  /** A prefix to strip first, such as `sha256=` (default none). */
  prefix?: string;
}

/**
 * Verifies a plain HMAC over the raw body (the scheme many providers use: e.g. SHA-512 hex in a
 * header), against one secret or several (rotation), in constant time. Returns true on a match.
 */
export function verifyHmacSignature(
  rawBody: string | Uint8Array,
  signature: string | undefined,
  secret: string | Uint8Array | readonly (string | Uint8Array)[],
  options: HmacSignatureOptions = {},
): boolean {
  const algorithm = options.algorithm ?? 'sha256';
  if (!['sha1', 'sha256', 'sha384', 'sha512'].includes(algorithm)) {
    throw new InvalidArgumentError(`${MESSAGE_PREFIX} unsupported HMAC algorithm`);
  }
  const encoding = options.encoding ?? 'hex';
  if (typeof signature !== 'string' || signature.length === 0) return false;
  let text = signature.trim();
  if (options.prefix) {
    if (!text.startsWith(options.prefix)) return false;
    text = text.slice(options.prefix.length);
  }
  const given = Buffer.from(encoding === 'hex' ? text.toLowerCase() : text, encoding);
  const body = payloadBytes(rawBody);
  const secrets = Array.isArray(secret) ? secret : [secret as string | Uint8Array];
  if (secrets.length === 0) throw new InvalidArgumentError(`${MESSAGE_PREFIX} at least one secret is needed`);
  let matched = false;
  for (const s of secrets) {
    if ((typeof s !== 'string' && !(s instanceof Uint8Array)) || s.length === 0) {
      throw new InvalidArgumentError(`${MESSAGE_PREFIX} HMAC secret must be a non-empty string or bytes`);
    }
    const expected = createHmac(algorithm, s).update(body).digest();
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}
