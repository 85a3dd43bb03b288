import { createHmac, timingSafeEqual } from 'node:crypto';
import { fieldsOf, InvalidArgumentError, refuseUnknownFields } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';
import { payloadBytes } from './secrets.js';
import { decodeSignature, SIGNATURE_ENCODINGS, type SignatureEncoding } from './signature-encoding.js';
import { WebhookVerificationError } from './verification-error.js';

const P = MESSAGE_PREFIX;
const ALGORITHMS: ReadonlySet<string> = new Set(['sha1', 'sha256', 'sha384', 'sha512']);

export interface HmacSignatureOptions {
  /** Hash algorithm (default `sha256`; e.g. `sha512`, `sha1`). */
  algorithm?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** How the signature is encoded (default `hex`). */
  encoding?: SignatureEncoding;
  /** A prefix to strip first, such as `sha256=` (default none). */
  prefix?: string;
}

/** The fields of {@link HmacSignatureOptions}: any other (`algo`) is refused. */
const HMAC_FIELDS = fieldsOf<HmacSignatureOptions>()(['algorithm', 'encoding', 'prefix']);

/**
 * Verifies a plain HMAC over the raw body (the scheme many providers use: e.g. SHA-512 hex in a
 * header), against one secret or several (rotation), in constant time. Returns on a match and
 * throws `WebhookVerificationError` (code `SIGNATURE_INVALID`) otherwise, as `verifyWebhook`
 * does: `reason` `missing_signature` for a missing or empty signature, `no_matching_signature`
 * for one that matches no secret or is not the canonical encoding of a digest (exact length, no
 * trailing characters). Bad arguments of the caller's own are `INVALID_ARGUMENT`.
 */
export function verifyHmacSignature(
  rawBody: string | Uint8Array,
  signature: string | readonly string[] | undefined,
  secret: string | Uint8Array | readonly (string | Uint8Array)[],
  options: HmacSignatureOptions = {},
): void {
  const outcome = check(rawBody, signature, secret, options);
  if (outcome === 'missing') {
    throw new WebhookVerificationError('missing_signature', 'no HMAC signature was given');
  }
  if (outcome === 'mismatch') {
    throw new WebhookVerificationError('no_matching_signature', 'the HMAC signature matches no secret');
  }
}

/**
 * The same check as {@link verifyHmacSignature}, as a boolean: true on a match, false for a
 * missing or non-matching signature. Bad arguments of the caller's own still throw
 * `INVALID_ARGUMENT`.
 */
export function isValidHmacSignature(
  rawBody: string | Uint8Array,
  signature: string | readonly string[] | undefined,
  secret: string | Uint8Array | readonly (string | Uint8Array)[],
  options: HmacSignatureOptions = {},
): boolean {
  return check(rawBody, signature, secret, options) === 'match';
}

function check(
  rawBody: string | Uint8Array,
  signature: string | readonly string[] | undefined,
  secret: string | Uint8Array | readonly (string | Uint8Array)[],
  options: HmacSignatureOptions,
): 'match' | 'missing' | 'mismatch' {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${P} HMAC options must be an object`);
  }
  // A misspelt `algorithm` would otherwise check the signature with SHA-256 in silence.
  refuseUnknownFields(options, HMAC_FIELDS, 'HMAC options', P);
  const algorithm = options.algorithm ?? 'sha256';
  if (!ALGORITHMS.has(algorithm)) throw new InvalidArgumentError(`${P} unsupported HMAC algorithm`);
  const encoding = options.encoding ?? 'hex';
  if (!SIGNATURE_ENCODINGS.has(encoding)) {
    throw new InvalidArgumentError(`${P} HMAC encoding must be 'hex', 'base64' or 'base64url'`);
  }
  if (options.prefix !== undefined && typeof options.prefix !== 'string') {
    throw new InvalidArgumentError(`${P} HMAC prefix must be a string`);
  }
  const body = payloadBytes(rawBody);
  const secrets = Array.isArray(secret) ? secret : [secret as string | Uint8Array];
  const expected = secrets.map((s) => {
    if ((typeof s !== 'string' && !(s instanceof Uint8Array)) || s.length === 0) {
      throw new InvalidArgumentError(`${P} HMAC secret must be a non-empty string or bytes`);
    }
    return createHmac(algorithm, s).update(body).digest();
  });
  // Every digest has the algorithm's length; none at all means no secret was given.
  const digestLength = expected[0]?.length;
  if (digestLength === undefined) throw new InvalidArgumentError(`${P} at least one secret is needed`);

  // Node's req.headers gives a repeated header as an array: exactly one value is a signature,
  // several are ambiguous and match nothing.
  const given = Array.isArray(signature) ? (signature.length === 1 ? signature[0] : '') : signature;
  if (typeof given !== 'string' || given.length === 0) {
    return Array.isArray(signature) && signature.length > 1 ? 'mismatch' : 'missing';
  }
  let text = given.trim();
  if (options.prefix) {
    if (!text.startsWith(options.prefix)) return 'mismatch';
    text = text.slice(options.prefix.length);
  }
  const decoded = decodeSignature(text, encoding, digestLength);
  if (decoded === undefined) return 'mismatch';
  let matched = false;
  // Every comparison runs, so timing does not tell which secret matched.
  for (const digest of expected) if (timingSafeEqual(decoded, digest)) matched = true;
  return matched ? 'match' : 'mismatch';
}
