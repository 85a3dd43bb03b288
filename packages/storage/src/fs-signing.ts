import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAX_SIGNED_URL_EXPIRES_IN_S, readOptions, readSignedUrlOptions } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

/** One HMAC key: a string (its UTF-8 bytes) or bytes. */
export type FsSigningSecret = string | Uint8Array;

/** Options of {@link FsStorageOptions.signing}: how the filesystem driver signs URLs. */
export interface FsSigningOptions {
  /**
   * HMAC-SHA256 key, at least 32 bytes. Give several to rotate keys: URLs are signed with the
   * first and accepted with any, so a new key goes first and the old one stays until the URLs
   * it signed have expired.
   */
  secret: FsSigningSecret | readonly FsSigningSecret[];
  /**
   * Absolute http(s) URL where `createFsSignedUrlHandler` serves this storage, such as
   * `https://app.example.com/files/`. A signed URL is this, the key (each segment
   * percent-encoded) and `?expires=…&signature=…`.
   */
  baseUrl: string;
  /** Longest lifetime `signedUrl` grants; longer `expiresInS` are cut to it. Default 604800 (7 days, as S3). */
  maxExpiresInS?: number;
}

/** Shortest secret accepted, bytes (the HMAC-SHA256 output size). */
export const MIN_SECRET_BYTES = 32;
/** Versions the signed string, so that another scheme can never verify as this one. */
const SCHEME = 'voelgoed-fs-url-v1';
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const EXPIRES = /^\d{1,15}$/;
const SIGNING_FIELDS = ['secret', 'baseUrl', 'maxExpiresInS'] as const;

/** What checking a request's signature found. */
export type SignatureCheck =
  | { ok: true; contentType: string | undefined }
  | { ok: false; status: 400 | 403; reason: string };

function readSecret(secret: unknown): Buffer {
  let bytes: Buffer | undefined;
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) bytes = Buffer.from(secret);
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES)
    throw invalidArgument(`signing.secret must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}

/** The secrets, the one that signs first: never an empty list. */
function readSecrets(secret: unknown): [Buffer, ...Buffer[]] {
  if (!Array.isArray(secret)) return [readSecret(secret)];
  if (secret.length === 0) throw invalidArgument('signing.secret must not be an empty list');
  const [signing, ...others] = secret;
  return [readSecret(signing), ...others.map(readSecret)];
}

/** `baseUrl` parsed: an absolute http(s) URL without credentials, query or fragment, ending in '/'. */
function readBaseUrl(baseUrl: unknown): URL {
  if (typeof baseUrl !== 'string') throw invalidArgument('signing.baseUrl must be an absolute http(s) URL');
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalidArgument('signing.baseUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidArgument('signing.baseUrl must be an absolute http(s) URL');
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw invalidArgument('signing.baseUrl must not hold credentials, a query or a fragment');
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  // An empty query or fragment ('…/files/?') parses as none but stays in the text.
  url.search = '';
  url.hash = '';
  return url;
}

/** The key as a URL path: each segment percent-encoded, joined by '/'. */
function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * The key a request path names, below the handler's base path: each segment percent-decoded.
 * Undefined when the path is malformed (a bad escape, or an encoded '/' inside a segment: this
 * driver never signs one, and decoding it would change where the segments fall).
 */
export function decodeKeyPath(path: string): string | undefined {
  const segments: string[] = [];
  for (const raw of path.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment.includes('/')) return undefined;
    segments.push(segment);
  }
  return segments.join('/');
}

/** Signs and checks the filesystem driver's URLs (HMAC-SHA256 over method, key, expiry and content type). */
export class FsUrlSigner {
  readonly #secrets: readonly [Buffer, ...Buffer[]];
  readonly #baseUrl: string;
  /** Path of `baseUrl` as requests carry it (percent-encoded, ending in '/'). */
  readonly basePath: string;
  readonly #maxExpiresInS: number;

  constructor(options: unknown) {
    if (options === null || typeof options !== 'object')
      throw invalidArgument('signing must be { secret, baseUrl }');
    const { secret, baseUrl, maxExpiresInS } = readOptions(
      options,
      SIGNING_FIELDS,
      'signing',
      MESSAGE_PREFIX,
    );
    this.#secrets = readSecrets(secret);
    const url = readBaseUrl(baseUrl);
    this.#baseUrl = url.href;
    this.basePath = url.pathname;
    if (
      maxExpiresInS !== undefined &&
      (typeof maxExpiresInS !== 'number' || !Number.isSafeInteger(maxExpiresInS) || maxExpiresInS < 1)
    )
      throw invalidArgument('signing.maxExpiresInS must be a positive integer of seconds');
    this.#maxExpiresInS = (maxExpiresInS as number | undefined) ?? MAX_SIGNED_URL_EXPIRES_IN_S;
  }

  /** A URL letting its bearer GET (or PUT) `key` (a valid key) until it expires. */
  sign(key: string, signedUrlOptions: unknown, nowMs = Date.now()): string {
    const { method, expiresInS, contentType } = readSignedUrlOptions(
      signedUrlOptions,
      MESSAGE_PREFIX,
      this.#maxExpiresInS,
    );
    // Rounded up: the URL works for at least the lifetime asked for.
    const expires = Math.ceil(nowMs / 1000) + expiresInS;
    const query = new URLSearchParams({ expires: String(expires) });
    if (contentType !== undefined) query.set('content-type', contentType);
    query.set('signature', this.#mac(this.#secrets[0], method, key, expires, contentType));
    return `${this.#baseUrl}${encodeKeyPath(key)}?${query}`;
  }

  /** Checks the query of a request for `key` made with `method` (HEAD is checked as GET). */
  check(method: 'GET' | 'PUT', key: string, query: URLSearchParams, nowMs = Date.now()): SignatureCheck {
    const expiresValues = query.getAll('expires');
    const signatures = query.getAll('signature');
    const contentTypes = query.getAll('content-type');
    const [expiresText] = expiresValues;
    const [signature] = signatures;
    if (
      expiresText === undefined ||
      signature === undefined ||
      expiresValues.length !== 1 ||
      signatures.length !== 1 ||
      contentTypes.length > 1
    )
      return { ok: false, status: 400, reason: 'the URL needs one expires and one signature parameter' };
    if (!EXPIRES.test(expiresText) || !SIGNATURE.test(signature))
      return { ok: false, status: 400, reason: 'malformed expires or signature parameter' };
    const expires = Number(expiresText);
    const contentType = contentTypes[0];
    // Compared as text: two base64url spellings of the same bytes (the last character carries
    // spare bits) must not both be accepted.
    const given = Buffer.from(signature, 'latin1');
    const valid = this.#secrets.some((secret) =>
      timingSafeEqual(given, Buffer.from(this.#mac(secret, method, key, expires, contentType), 'latin1')),
    );
    if (!valid) return { ok: false, status: 403, reason: 'signature does not match' };
    if (nowMs >= expires * 1000) return { ok: false, status: 403, reason: 'request has expired' };
    return { ok: true, contentType };
  }

  #mac(
    secret: Buffer,
    method: string,
    key: string,
    expires: number,
    contentType: string | undefined,
  ): string {
    // JSON keeps the fields apart whatever they hold.
    const payload = JSON.stringify([SCHEME, method, key, expires, contentType ?? null]);
    return createHmac('sha256', secret).update(payload, 'utf8').digest('base64url');
  }
}

const signers = new WeakMap<object, FsUrlSigner>();

/** Links a storage to its signer, for the handler (the secrets stay out of the storage's public fields). */
export function attachSigner(storage: object, signer: FsUrlSigner): void {
  signers.set(storage, signer);
}

/** The signer of a storage made with `signing`, if any. */
export function signerOf(storage: object): FsUrlSigner | undefined {
  return signers.get(storage);
}
