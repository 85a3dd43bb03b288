import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The SHA-256 of an empty payload (what a request without a body signs). */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Headers minio leaves out of the signature (and so do we: the same requests, the same signature). */
const UNSIGNED_HEADERS = new Set(['authorization', 'content-length', 'content-type', 'user-agent']);

/** What signs a request: credentials and the region its scope names. */
export interface SignerCredentials {
  accessKey: string;
  secretKey: string;
  sessionToken?: string | undefined;
  region: string;
}

/**
 * AWS Signature Version 4 for S3 request headers, the same canonical form as minio's `signV4`
 * (so a request signs the same either way), but with the day's signing key kept: minio derives
 * it with four HMACs per request, and on Node 24 each `createHmac` with a Buffer key costs about
 * 15 µs (it builds a KeyObject), most of a small GET's signing cost.
 */
export class SigV4Signer {
  readonly #credentials: SignerCredentials;
  #day = '';
  #key: KeyObject | undefined;
  #credentialScope = '';

  constructor(credentials: SignerCredentials) {
    this.#credentials = credentials;
  }

  /**
   * Adds `x-amz-date`, `x-amz-content-sha256` (`payloadHash`), the session token if any and
   * `authorization` to `headers` (lower-case names), for `path` (escaped, with its query).
   */
  sign(
    method: string,
    path: string,
    headers: Record<string, string>,
    payloadHash: string,
    now = new Date(),
  ): void {
    const amzDate = longDate(now);
    const key = this.#signingKey(amzDate.slice(0, 8));
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] = payloadHash;
    const token = this.#credentials.sessionToken;
    if (token) headers['x-amz-security-token'] = token;
    const names = signedNames(headers);
    const signature = this.#signature(
      key,
      amzDate,
      canonicalRequest(method, path, headers, names, payloadHash),
    );
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.#credentials.accessKey}/${this.#credentialScope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  }

  /**
   * A presigned URL (query-string SigV4, `UNSIGNED-PAYLOAD`): what minio's `presignSignatureV4`
   * gives for a request of the shape minio's `getRequestOptions` returns.
   */
  presign(
    request: { method: string; protocol: string; path: string; headers: Record<string, string> },
    expiresInS: number,
    now = new Date(),
  ): string {
    const amzDate = longDate(now);
    const key = this.#signingKey(amzDate.slice(0, 8));
    const names = signedNames(request.headers);
    const credential = uriEscape(`${this.#credentials.accessKey}/${this.#credentialScope}`);
    let auth = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${credential}&X-Amz-Date=${amzDate}&X-Amz-Expires=${expiresInS}&X-Amz-SignedHeaders=${uriEscape(names.join(';'))}`;
    const token = this.#credentials.sessionToken;
    if (token) auth += `&X-Amz-Security-Token=${uriEscape(token)}`;
    const q = request.path.indexOf('?');
    const query = q < 0 ? '' : request.path.slice(q + 1);
    const path = `${q < 0 ? request.path : request.path.slice(0, q)}?${query ? `${query}&` : ''}${auth}`;
    const canonical = canonicalRequest(request.method, path, request.headers, names, 'UNSIGNED-PAYLOAD');
    return `${request.protocol}//${request.headers.host}${path}&X-Amz-Signature=${this.#signature(key, amzDate, canonical)}`;
  }

  #signature(key: KeyObject, amzDate: string, canonical: string): string {
    const hash = createHash('sha256').update(canonical).digest('hex');
    return createHmac('sha256', key)
      .update(`AWS4-HMAC-SHA256\n${amzDate}\n${this.#credentialScope}\n${hash}`)
      .digest('hex');
  }

  /** The signing key of `day` (YYYYMMDD), derived once per day. */
  #signingKey(day: string): KeyObject {
    if (day === this.#day && this.#key !== undefined) return this.#key;
    const { secretKey, region } = this.#credentials;
    const dateKey = createHmac('sha256', `AWS4${secretKey}`).update(day).digest();
    const regionKey = createHmac('sha256', dateKey).update(region).digest();
    const serviceKey = createHmac('sha256', regionKey).update('s3').digest();
    this.#key = createSecretKey(createHmac('sha256', serviceKey).update('aws4_request').digest());
    this.#day = day;
    this.#credentialScope = `${day}/${region}/s3/aws4_request`;
    return this.#key;
  }
}

/** `YYYYMMDDTHHMMSSZ`. */
function longDate(now: Date): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** The names of the headers a request signs, sorted. */
function signedNames(headers: Record<string, string>): string[] {
  return Object.keys(headers)
    .filter((name) => !UNSIGNED_HEADERS.has(name))
    .sort();
}

/** The canonical request (minio's form: the query's pairs sorted, a bare name given `=`). */
function canonicalRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  names: readonly string[],
  payloadHash: string,
): string {
  let canonicalHeaders = '';
  for (const name of names) canonicalHeaders += `${name}:${String(headers[name]).replace(/ +/g, ' ')}\n`;
  const q = path.indexOf('?');
  const resource = q < 0 ? path : path.slice(0, q);
  const query =
    q < 0 || q === path.length - 1
      ? ''
      : path
          .slice(q + 1)
          .split('&')
          .sort()
          .map((pair) => (pair.includes('=') ? pair : `${pair}=`))
          .join('&');
  return `${method.toUpperCase()}\n${resource}\n${query}\n${canonicalHeaders}\n${names.join(';')}\n${payloadHash}`;
}

/** RFC 3986 escaping, as SigV4 wants query values (minio's `uriEscape`). */
export function uriEscape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
