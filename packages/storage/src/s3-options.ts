import type { Agent } from 'node:http';
import {
  fieldsOf,
  type Logger,
  MAX_SIGNED_URL_EXPIRES_IN_S,
  readLogger,
  refuseUnknownFields,
} from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import { type ProxyConfig, type ProxyOption, resolveProxy } from './proxy-config.js';

const MiB = 1024 * 1024;

/** Options of {@link createS3Storage}. Every field but the connection ones has a default. */
export interface S3StorageOptions {
  /** Host name or IP of the S3 endpoint (e.g. `s3.amazonaws.com`, `127.0.0.1`). */
  endPoint: string;
  /** Default 443 with TLS, 80 without. */
  port?: number;
  /** TLS on. Default `true`. */
  useSSL?: boolean;
  accessKey: string;
  secretKey: string;
  sessionToken?: string;
  /** The bucket every key lives in. */
  bucket: string;
  /** Region used to sign requests; set, so that presigning makes no network call. Default `us-east-1`. */
  region?: string;
  /** Path-style requests (`host/bucket/key`). Default `true` (MinIO and most S3-compatible servers). */
  pathStyle?: boolean;
  /**
   * Base URL for presigned URLs when clients reach the server by another address than this
   * process does (e.g. `https://files.example.com` in front of an internal MinIO). The URL is
   * signed for that host. An origin only: a path other than `/` is `INVALID_ARGUMENT` (the
   * signature covers the path the server sees). Default: the endpoint above.
   */
  publicUrl?: string;
  /** Size of each multipart part, bytes (5 MiB to 5 GiB). Bodies up to this size go in one PUT. Default 8 MiB. */
  partSize?: number;
  /**
   * Bodies whose size is known (a string, bytes, or a stream with `size` declared) up to this
   * many bytes go in one PUT; larger ones, and streams of unknown length that outgrow one part,
   * go as a multipart upload. A stream above `partSize` sent in one PUT is streamed, not
   * buffered (so it is not retried, and on plain HTTP its payload is sent unsigned unless a
   * `sha256` checksum is given). From `partSize` to 5 GiB (the S3 limit of one PUT). Default: `partSize`.
   */
  multipartThreshold?: number;
  /** Parts uploaded at the same time. Memory per upload is at most `partSize × (concurrency + 1)`. Default 4. */
  concurrency?: number;
  /** Largest object accepted; larger bodies reject with `PayloadTooLargeError`. Default 5 TiB (the S3 limit). */
  maxObjectSize?: number;
  /** Cap on `signedUrl`'s `expiresInS`. Default 604800 (7 days, the SigV4 limit). */
  maxSignedUrlExpiresInS?: number;
  /** Retries of a failed request (connection errors, timeouts, 5xx); minio's own retries are off. Default 2. */
  retries?: number;
  /** First retry delay, ms; doubled each time, with jitter. Default 100. */
  retryBaseDelayMs?: number;
  /**
   * A request whose response has not started after this long (waiting for a socket included),
   * or whose body (read by the driver: all but a `get`'s) stops for this long, fails with
   * `TimeoutError` (0: none). Default 30000.
   */
  requestTimeoutMs?: number;
  /** HTTP(S) agent (connection pool). Default: a keep-alive agent of this storage. */
  agent?: Agent;
  /**
   * Outbound proxy: a URL (`http://user:pass@proxy.internal:3128`, CONNECT tunnels to the
   * endpoint), `{ url, noProxy }`, `'env'` to read `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, or
   * `false`. Default: the environment only when `NODE_USE_ENV_PROXY=1` (Node's own switch).
   * Not with `agent` (give the agent its own proxy then).
   */
  proxy?: ProxyOption;
  /**
   * Where to log a multipart upload aborted after an error (warn: bucket, parts and bytes sent,
   * error code; never the key, the credentials or a signed URL). Default: nothing is logged.
   */
  logger?: Logger;
}

/** The options with every default filled in. */
export interface ResolvedS3Options {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  sessionToken: string | undefined;
  bucket: string;
  region: string;
  pathStyle: boolean;
  publicUrl: URL | undefined;
  partSize: number;
  multipartThreshold: number;
  concurrency: number;
  maxObjectSize: number;
  maxSignedUrlExpiresInS: number;
  retries: number;
  retryBaseDelayMs: number;
  requestTimeoutMs: number;
  agent: Agent | undefined;
  /** The proxy for the endpoint, or `undefined` for direct connections (and with `agent`). */
  proxy: ProxyConfig | undefined;
  logger: Logger;
}

export const S3_DEFAULTS = {
  region: 'us-east-1',
  partSize: 8 * MiB,
  concurrency: 4,
  maxObjectSize: 5 * 1024 * 1024 * MiB,
  maxSignedUrlExpiresInS: MAX_SIGNED_URL_EXPIRES_IN_S,
  retries: 2,
  retryBaseDelayMs: 100,
  requestTimeoutMs: 30_000,
} as const;

const MIN_PART = 5 * MiB;
const MAX_PART = 5 * 1024 * MiB;
/** The largest object S3 accepts in one PUT. */
const MAX_SINGLE_PUT = 5 * 1024 * MiB;
// S3 bucket names: 3-63 chars, lower case letters, digits, dots, hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads an S3 URL: `s3://ACCESS:SECRET@host[:port]/bucket?region=…&pathStyle=…&useSSL=…` or the
 * same with `http://` (no TLS) or `https://`. Access and secret keys are URL-decoded. `s3://`
 * uses TLS unless `useSSL=false`. Other query parameters: `publicUrl`, `partSize`,
 * `multipartThreshold`, `concurrency`. Errors never echo the URL (it holds the secret key).
 */
export function parseS3Url(url: string): S3StorageOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument('S3 URL is not a valid URL (expected s3://ACCESS:SECRET@host[:port]/bucket)');
  }
  const scheme = parsed.protocol;
  if (scheme !== 's3:' && scheme !== 'http:' && scheme !== 'https:') {
    throw invalidArgument('S3 URL must start with s3://, http:// or https://');
  }
  const q = parsed.searchParams;
  const bucket = decodeUrlPart(parsed.pathname.replace(/^\/+|\/+$/g, ''), 'bucket');
  if (!parsed.username || !parsed.password)
    throw invalidArgument('S3 URL must carry credentials (s3://ACCESS:SECRET@host/bucket)');
  const bool = (name: string): boolean | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw invalidArgument(`S3 URL parameter ${name} must be true or false`);
  };
  const num = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw invalidArgument(`S3 URL parameter ${name} must be a number`);
    return n;
  };
  const useSSL = bool('useSSL') ?? scheme !== 'http:';
  const options: S3StorageOptions = {
    endPoint: parsed.hostname.replace(/^\[|\]$/g, ''),
    useSSL,
    accessKey: decodeUrlPart(parsed.username, 'access key'),
    secretKey: decodeUrlPart(parsed.password, 'secret key'),
    bucket,
  };
  if (parsed.port) options.port = Number(parsed.port);
  const region = q.get('region');
  if (region) options.region = region;
  const pathStyle = bool('pathStyle');
  if (pathStyle !== undefined) options.pathStyle = pathStyle;
  const publicUrl = q.get('publicUrl');
  if (publicUrl) options.publicUrl = publicUrl;
  const partSize = num('partSize');
  if (partSize !== undefined) options.partSize = partSize;
  const multipartThreshold = num('multipartThreshold');
  if (multipartThreshold !== undefined) options.multipartThreshold = multipartThreshold;
  const concurrency = num('concurrency');
  if (concurrency !== undefined) options.concurrency = concurrency;
  return options;
}

/**
 * Percent-decodes one part of an S3 URL. A malformed escape (`%zz`, a lone `%`, bytes that are
 * not UTF-8) is `InvalidArgumentError` naming the part, never a `URIError`, and never echoing
 * the part (it may be the secret key).
 */
function decodeUrlPart(value: string, part: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw invalidArgument(`S3 URL ${part} has a malformed percent escape (use %XX with two hex digits)`);
  }
}

/** Validates the options and fills in the defaults; bad values are `InvalidArgumentError`. */
/**
 * The fields of {@link S3StorageOptions}: any other is refused (minio's `transportAgent` or
 * `s3AccelerateEndpoint` would otherwise be dropped in silence).
 */
const S3_FIELDS = fieldsOf<S3StorageOptions>()([
  'endPoint',
  'port',
  'useSSL',
  'accessKey',
  'secretKey',
  'sessionToken',
  'bucket',
  'region',
  'pathStyle',
  'publicUrl',
  'partSize',
  'multipartThreshold',
  'concurrency',
  'maxObjectSize',
  'maxSignedUrlExpiresInS',
  'retries',
  'retryBaseDelayMs',
  'requestTimeoutMs',
  'agent',
  'proxy',
  'logger',
]);

export function resolveS3Options(options: S3StorageOptions): ResolvedS3Options {
  if (options === null || typeof options !== 'object') throw invalidArgument('S3 options must be an object');
  refuseUnknownFields(options, S3_FIELDS, 'S3 options', MESSAGE_PREFIX);
  // Checked in this order, so that of several bad values the same one is reported as before.
  const bucket = resolveBucket(options.bucket);
  const publicUrl = resolvePublicUrl(options.publicUrl);
  const partSize = integerOption(options.partSize, 'partSize', MIN_PART, MAX_PART, S3_DEFAULTS.partSize);
  return {
    ...resolveConnection(options, bucket),
    publicUrl,
    ...resolveTransfer(options, partSize),
    ...resolveRequestLimits(options),
    agent: options.agent,
    logger: readLogger(options.logger, MESSAGE_PREFIX),
    proxy: resolveAgentProxy(options),
  };
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidArgument(`${name} must be a non-empty string`);
  return value;
}

/** `value` when it is an integer from `min` to `max`, `fallback` when undefined. */
function integerOption(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function resolveBucket(value: unknown): string {
  const bucket = requireString(value, 'bucket');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw invalidArgument('bucket must be a valid S3 bucket name (3-63 of a-z, 0-9, ".", "-")');
  }
  return bucket;
}

/** The `publicUrl` option: an absolute http(s) URL without credentials, path, query or fragment. */
function resolvePublicUrl(value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  let publicUrl: URL;
  try {
    publicUrl = new URL(requireString(value, 'publicUrl'));
  } catch {
    throw invalidArgument('publicUrl must be an absolute http(s) URL');
  }
  if (
    (publicUrl.protocol !== 'http:' && publicUrl.protocol !== 'https:') ||
    publicUrl.search ||
    publicUrl.username ||
    publicUrl.password
  )
    throw invalidArgument('publicUrl must be an http(s) URL without credentials or query');
  // A presigned URL's signature covers the path the server sees: a path prefix here (a proxy
  // that strips `/s3/`) would be signed for a path the server never receives, or dropped.
  if (publicUrl.pathname !== '/' || publicUrl.hash)
    throw invalidArgument('publicUrl must be an origin only (no path other than /, no fragment)');
  return publicUrl;
}

type ConnectionOptions = Pick<
  ResolvedS3Options,
  | 'endPoint'
  | 'port'
  | 'useSSL'
  | 'accessKey'
  | 'secretKey'
  | 'sessionToken'
  | 'bucket'
  | 'region'
  | 'pathStyle'
>;

/** Where the server is, how to reach it and who signs. */
function resolveConnection(options: S3StorageOptions, bucket: string): ConnectionOptions {
  const useSSL = options.useSSL ?? true;
  return {
    endPoint: requireString(options.endPoint, 'endPoint'),
    port: integerOption(options.port, 'port', 1, 65535, useSSL ? 443 : 80),
    useSSL,
    accessKey: requireString(options.accessKey, 'accessKey'),
    secretKey: requireString(options.secretKey, 'secretKey'),
    sessionToken: options.sessionToken,
    bucket,
    region: options.region === undefined ? S3_DEFAULTS.region : requireString(options.region, 'region'),
    pathStyle: options.pathStyle ?? true,
  };
}

type TransferOptions = Pick<
  ResolvedS3Options,
  'partSize' | 'multipartThreshold' | 'concurrency' | 'maxObjectSize'
>;

/** How bodies are sent: part size, when to go multipart, parts at once, the size limit. */
function resolveTransfer(options: S3StorageOptions, partSize: number): TransferOptions {
  return {
    partSize,
    multipartThreshold: integerOption(
      options.multipartThreshold,
      'multipartThreshold (at least partSize)',
      partSize,
      MAX_SINGLE_PUT,
      partSize,
    ),
    concurrency: integerOption(options.concurrency, 'concurrency', 1, 64, S3_DEFAULTS.concurrency),
    maxObjectSize: integerOption(
      options.maxObjectSize,
      'maxObjectSize',
      0,
      S3_DEFAULTS.maxObjectSize,
      S3_DEFAULTS.maxObjectSize,
    ),
  };
}

type RequestLimits = Pick<
  ResolvedS3Options,
  'maxSignedUrlExpiresInS' | 'retries' | 'retryBaseDelayMs' | 'requestTimeoutMs'
>;

/** Signed URL lifetime cap, retries and the request timeout. */
function resolveRequestLimits(options: S3StorageOptions): RequestLimits {
  return {
    maxSignedUrlExpiresInS: integerOption(
      options.maxSignedUrlExpiresInS,
      'maxSignedUrlExpiresInS',
      1,
      S3_DEFAULTS.maxSignedUrlExpiresInS,
      S3_DEFAULTS.maxSignedUrlExpiresInS,
    ),
    retries: integerOption(options.retries, 'retries', 0, 10, S3_DEFAULTS.retries),
    retryBaseDelayMs: integerOption(
      options.retryBaseDelayMs,
      'retryBaseDelayMs',
      0,
      60_000,
      S3_DEFAULTS.retryBaseDelayMs,
    ),
    requestTimeoutMs: integerOption(
      options.requestTimeoutMs,
      'requestTimeoutMs',
      0,
      3_600_000,
      S3_DEFAULTS.requestTimeoutMs,
    ),
  };
}

/** The `proxy` option; an explicit proxy and an agent are exclusive, and the agent wins over the environment. */
function resolveAgentProxy(options: S3StorageOptions): ProxyConfig | undefined {
  if (options.agent === undefined) return resolveProxy(options.proxy, MESSAGE_PREFIX);
  if (options.proxy !== undefined && options.proxy !== false) {
    throw invalidArgument('proxy and agent are exclusive: configure the proxy on the agent you give');
  }
  return undefined;
}
