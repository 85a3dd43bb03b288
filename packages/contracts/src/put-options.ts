import { readOptions, readRecord, readSignal } from './caller-input.js';
import { InvalidArgumentError } from './errors.js';
import type { PutOptions } from './ports/storage.js';
import { validate } from './validate.js';

/**
 * The rule of the `ObjectStorage` port for `put` options, in one place so that every driver
 * (memory, filesystem, S3) refuses the same options with the same `InvalidArgumentError`. S3
 * sends content type, cache control and metadata as HTTP headers, so they follow what an HTTP
 * header keeps byte for byte: printable ASCII values and token metadata names.
 */

/** The checksum a `put` may expect the body to have. */
export type PutChecksum = NonNullable<PutOptions['checksum']>;

/** `put` options after {@link readPutOptions}: read once, checked, normalised. */
export interface CheckedPutOptions {
  /** The given content type, or {@link DEFAULT_OBJECT_CONTENT_TYPE}. */
  contentType: string;
  cacheControl: string | undefined;
  /** User metadata with lower-case names. */
  metadata: Record<string, string>;
  size: number | undefined;
  checksum: PutChecksum | undefined;
  /** The caller's callback made safe: what it throws (or an async one rejects with) is ignored. */
  onProgress: ((bytesSent: number) => void) | undefined;
  signal: AbortSignal | undefined;
}

/** Content type of an object put without one. */
export const DEFAULT_OBJECT_CONTENT_TYPE = 'application/octet-stream';

/** HTTP token characters, lower case (RFC 9110 `tchar`): what an S3 `x-amz-meta-*` name may hold. */
export const METADATA_NAME_PATTERN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** Printable ASCII, space to `~`: what an HTTP header value carries unchanged. */
export const HEADER_VALUE_PATTERN = /^[\x20-\x7e]*$/;

export const PUT_OPTION_FIELDS = [
  'contentType',
  'metadata',
  'cacheControl',
  'size',
  'checksum',
  'onProgress',
  'signal',
] as const;
const CHECKSUM_FIELDS = ['algorithm', 'value', 'encoding'] as const;
const DIGEST_BYTES = { md5: 16, sha256: 32 } as const;
const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/]+=*$/;

/**
 * Reads `put` options once (a getter or a Proxy cannot answer one thing to a check and another
 * later) and checks every field: `contentType` and `cacheControl` (see {@link readHeaderOption}),
 * `metadata` (see {@link readObjectMetadata}), `size` a non-negative integer, `checksum` (see
 * {@link readPutChecksum}), `onProgress` a function, `signal` an `AbortSignal`. `undefined`
 * options are no options. Throws `InvalidArgumentError` whose message starts with `prefix`.
 */
export function readPutOptions(options: unknown, prefix: string): CheckedPutOptions {
  const read = readOptions(options, PUT_OPTION_FIELDS, 'put options', prefix);
  if (read.size !== undefined) validate.integer(read.size, 'size', prefix, 0);
  return {
    contentType: readHeaderOption(read.contentType, 'contentType', prefix) ?? DEFAULT_OBJECT_CONTENT_TYPE,
    cacheControl: readHeaderOption(read.cacheControl, 'cacheControl', prefix),
    metadata: readObjectMetadata(read.metadata, prefix),
    size: read.size,
    checksum: readPutChecksum(read.checksum, prefix),
    onProgress: quietProgress(read.onProgress, prefix),
    signal: readSignal(read.signal, prefix),
  };
}

/**
 * A header-like option (`contentType`, `cacheControl`, a signed URL's `contentType`):
 * `undefined`, or a non-empty string of printable ASCII (no control characters, no non-ASCII:
 * an HTTP header would not carry them unchanged) that neither begins nor ends with a space (a
 * header's value is trimmed). Returns the value.
 */
export function readHeaderOption(value: unknown, what: string, prefix: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || !HEADER_VALUE_PATTERN.test(value)) {
    throw new InvalidArgumentError(`${prefix} ${what} must be a non-empty string of printable ASCII`);
  }
  if (hasOuterSpace(value)) {
    throw new InvalidArgumentError(
      `${prefix} ${what} must not begin or end with a space (${OUTER_SPACE_WHY})`,
    );
  }
  return value;
}

/** Why a header value may not begin or end with a space. */
const OUTER_SPACE_WHY = 'HTTP drops them: S3 would refuse the signature or store the value trimmed';

function hasOuterSpace(value: string): boolean {
  return value.length > 0 && (value.charCodeAt(0) === 32 || value.charCodeAt(value.length - 1) === 32);
}

/**
 * User metadata: `undefined` (none) or a plain object whose names are HTTP tokens once
 * lower-cased and whose values are strings of printable ASCII (empty allowed; no space at
 * either end, as {@link readHeaderOption}). Returns a new
 * object with lower-case names (of two names that differ only in case, the last one wins).
 */
export function readObjectMetadata(metadata: unknown, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (metadata === undefined) return out;
  for (const [name, value] of readRecord(metadata, 'metadata', prefix, 'a plain object of strings')) {
    const lower = name.toLowerCase();
    if (!METADATA_NAME_PATTERN.test(lower)) {
      throw new InvalidArgumentError(
        `${prefix} metadata names must be non-empty HTTP tokens (a-z, 0-9 and !#$%&'*+-.^_\`|~)`,
      );
    }
    if (typeof value !== 'string' || !HEADER_VALUE_PATTERN.test(value)) {
      throw new InvalidArgumentError(`${prefix} metadata values must be strings of printable ASCII`);
    }
    if (hasOuterSpace(value)) {
      throw new InvalidArgumentError(
        `${prefix} metadata values must not begin or end with a space (${OUTER_SPACE_WHY})`,
      );
    }
    out[lower] = value;
  }
  return out;
}

/**
 * An expected checksum: `undefined`, or `{ algorithm: 'md5' | 'sha256', value, encoding?: 'hex'
 * | 'base64' }` whose `value` is a digest of that algorithm in that encoding (default hex, either
 * case): a value that could match no body is the caller's mistake, not the body's. Returns a
 * plain copy.
 */
export function readPutChecksum(checksum: unknown, prefix: string): PutChecksum | undefined {
  if (checksum === undefined) return undefined;
  if (checksum === null || typeof checksum !== 'object') {
    throw new InvalidArgumentError(`${prefix} checksum must be { algorithm, value, encoding? }`);
  }
  const { algorithm, value, encoding } = readOptions(checksum, CHECKSUM_FIELDS, 'checksum', prefix);
  if (algorithm !== 'md5' && algorithm !== 'sha256') {
    throw new InvalidArgumentError(`${prefix} checksum.algorithm must be 'md5' or 'sha256'`);
  }
  if (encoding !== undefined && encoding !== 'hex' && encoding !== 'base64') {
    throw new InvalidArgumentError(`${prefix} checksum.encoding must be 'hex' or 'base64'`);
  }
  if (!isDigest(value, DIGEST_BYTES[algorithm], encoding ?? 'hex')) {
    throw new InvalidArgumentError(
      `${prefix} checksum.value must be a ${encoding ?? 'hex'} ${algorithm} (${DIGEST_BYTES[algorithm]} bytes)`,
    );
  }
  return encoding === undefined ? { algorithm, value } : { algorithm, value, encoding };
}

function isDigest(value: unknown, bytes: number, encoding: 'hex' | 'base64'): value is string {
  if (typeof value !== 'string') return false;
  if (encoding === 'hex') return value.length === bytes * 2 && HEX.test(value);
  return BASE64.test(value) && Buffer.from(value, 'base64').length === bytes;
}

/** The digest a checksum names, as bytes (for a checksum that passed {@link readPutChecksum}). */
export function checksumDigest(checksum: PutChecksum): Buffer {
  return Buffer.from(checksum.value, checksum.encoding ?? 'hex');
}

/**
 * `onProgress` made safe to call: `undefined`, or a function whose throw (or an async one's
 * rejection) is ignored, since progress is a notification and must not fail the upload.
 */
export function quietProgress(
  onProgress: unknown,
  prefix: string,
): ((bytesSent: number) => void) | undefined {
  if (onProgress === undefined) return undefined;
  if (typeof onProgress !== 'function') {
    throw new InvalidArgumentError(`${prefix} onProgress must be a function`);
  }
  const callback = onProgress as (bytesSent: number) => unknown;
  return (bytesSent) => {
    try {
      const out = callback(bytesSent);
      // An async callback's rejection is ignored too (not left unhandled).
      if (out instanceof Promise) out.catch(() => undefined);
    } catch {
      // ignored: the caller's own callback failed, the upload goes on
    }
  };
}
