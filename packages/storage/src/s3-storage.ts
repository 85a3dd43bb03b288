import http from 'node:http';
import https from 'node:https';
import {
  boundedHealth,
  closedHealth,
  type GetResult,
  type HealthReport,
  isInfrastructureError,
  type ListedObject,
  type ListOptions,
  NotFoundError,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectStorageCapabilities,
  type PutBody,
  type PutOptions,
  type PutResult,
  readPutOptions,
  readSignedUrlOptions,
  type SignedUrlOptions,
  TimeoutError,
} from '@voelgoed/contracts';
import { Client } from 'minio';
import { abortedError, throwIfAborted } from './body-reader.js';
import { readGetOptions, readKeyList, readListOptions } from './caller-options.js';
import { closedError, MESSAGE_PREFIX, typedStreamErrors } from './errors.js';
import { validateKey } from './key.js';
import { listObjects } from './list.js';
import { validateRange } from './options-checks.js';
import { proxyFor } from './proxy-config.js';
import { HttpsTunnelAgent, HttpTunnelAgent } from './proxy-tunnel.js';
import { infoFromHeaders, wrapBody } from './s3-body.js';
import { createS3Context, type S3Context } from './s3-context.js';
import { listPage } from './s3-list.js';
import { parseS3Url, type ResolvedS3Options, resolveS3Options, type S3StorageOptions } from './s3-options.js';
import { s3Put } from './s3-put.js';
import { SigV4Signer, uriEscape } from './s3-signer.js';
import { createTransport, releaseBodyDeadline } from './s3-transport.js';
import { embeddedError, readText } from './s3-xml.js';
import { type EventSource, instrument, rangeBytes } from './telemetry.js';

/** The default options of `get` (frozen, so reading them needs no checks). */
const NO_OPTIONS: { signal?: AbortSignal } = Object.freeze({});

/**
 * `ObjectStorage` on S3, MinIO and other S3-compatible services, built on the `minio` client
 * with its retries off (ours apply), its multipart upload replaced by ours, and its listing
 * parsed here. Create it with {@link createS3Storage}.
 */
export class S3Storage implements ObjectStorage {
  readonly capabilities: ObjectStorageCapabilities = { signedUrl: true };
  /** The bucket every key lives in. */
  readonly bucket: string;
  readonly #ctx: S3Context;
  /** Lays out presigned requests (minio's `getRequestOptions`: host, path style, escaping). */
  readonly #presigner: Client;
  readonly #signer: SigV4Signer;
  readonly #source: EventSource;
  readonly #ownAgent: http.Agent | undefined;
  /** Set once the bucket was seen to exist: `exists()` then trusts a 404 to mean "no object". */
  #bucketSeen = false;

  constructor(options: S3StorageOptions | string) {
    const resolved = resolveS3Options(typeof options === 'string' ? parseS3Url(options) : options);
    this.bucket = resolved.bucket;
    const agent = resolved.agent ?? ownAgent(resolved);
    this.#ownAgent = agent === resolved.agent ? undefined : agent;
    const client = newClient(resolved, agent);
    // One signer (one kept key a day) for the lean client's requests and for presigning.
    this.#signer = new SigV4Signer(resolved);
    const leanClient = newClient(resolved, agent, this.#signer);
    this.#ctx = createS3Context(client, leanClient, resolved);
    this.#presigner = resolved.publicUrl ? newPresigner(resolved, resolved.publicUrl) : client;
    this.#source = {
      driver: 's3',
      bucket: resolved.bucket,
      serverAddress: resolved.endPoint,
      serverPort: resolved.port,
    };
  }

  /** Creates the bucket when it does not exist (in the configured region). */
  async ensureBucket(): Promise<void> {
    this.#assertOpen();
    const { client, bucket, options } = this.#ctx;
    const exists = await this.#ctx.call('ensureBucket', undefined, () => client.bucketExists(bucket));
    if (exists) return;
    try {
      await this.#ctx.call('ensureBucket', undefined, () => client.makeBucket(bucket, options.region));
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      if (cause?.code === 'BucketAlreadyOwnedByYou' || cause?.code === 'BucketAlreadyExists') return;
      throw error;
    }
  }

  put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    return instrument(
      this.#source,
      'put',
      async () => {
        this.#assertOpen();
        validateKey(key);
        return s3Put(this.#ctx, key, body, readPutOptions(options, MESSAGE_PREFIX));
      },
      (r) => r.size,
      { key },
    );
  }

  get(key: string, options: { signal?: AbortSignal } = NO_OPTIONS): Promise<GetResult> {
    return instrument(
      this.#source,
      'get',
      async () => {
        this.#assertOpen();
        validateKey(key);
        // The default `{}` has nothing to read.
        const signal = options === NO_OPTIONS ? undefined : readGetOptions(options).signal;
        return this.#get('get', key, undefined, signal);
      },
      (r) => r.size,
      { key },
    );
  }

  getRange(
    key: string,
    start: number,
    end: number,
    options: { signal?: AbortSignal } = NO_OPTIONS,
  ): Promise<GetResult> {
    return instrument(
      this.#source,
      'getRange',
      async () => {
        this.#assertOpen();
        validateKey(key);
        validateRange(start, end);
        const signal =
          options === NO_OPTIONS ? undefined : readGetOptions(options, 'getRange options').signal;
        return this.#get('getRange', key, `bytes=${start}-${end}`, signal);
      },
      (r) => rangeBytes(start, end, r.size),
      { key },
    );
  }

  async #get(
    operation: string,
    key: string,
    range: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GetResult> {
    throwIfAborted(signal);
    const { leanClient: client, bucket } = this.#ctx;
    const res = await this.#ctx.call(
      operation,
      key,
      () =>
        client.makeRequestAsync(
          { method: 'GET', bucketName: bucket, objectName: key, headers: range ? { range } : {} },
          '',
          range ? [200, 206] : [200],
        ),
      { signal },
    );
    // The body is the caller's to read at their pace: no idle deadline on it from here on.
    releaseBodyDeadline(res);
    const info = infoFromHeaders(key, res.headers);
    // A server may ignore the Range (200, whole object) or answer another one (s3rver sends all of
    // a 100-byte object for bytes=0-0): cut what was asked for here.
    const slice = range ? rangeSlice(range, res.statusCode, res.headers['content-range']) : undefined;
    const result = info as GetResult;
    // The caller's abort destroys the connection under the body: its error is the abort, not a
    // (retryable) connection failure.
    const translate = (error: unknown) =>
      signal?.aborted ? abortedError(signal) : this.#ctx.translate(error, operation, key);
    // The response itself is the body (no second stream: a download costs what minio's
    // getObject costs), its errors typed: the HTTP client destroys a response whose connection
    // closed before every announced byte arrived ("aborted"), so a body cut short errors instead
    // of ending early, and destroying the body closes the connection.
    result.body = slice === undefined ? typedStreamErrors(res, translate) : wrapBody(res, translate, slice);
    return result;
  }

  head(key: string): Promise<ObjectInfo> {
    return instrument(
      this.#source,
      'head',
      async () => {
        this.#assertOpen();
        validateKey(key);
        return this.#head('head', key);
      },
      undefined,
      { key },
    );
  }

  async #head(operation: string, key: string): Promise<ObjectInfo> {
    const { leanClient: client, bucket } = this.#ctx;
    const res = await this.#ctx.call(operation, key, () =>
      client.makeRequestAsyncOmit({ method: 'HEAD', bucketName: bucket, objectName: key }, '', [200]),
    );
    return infoFromHeaders(key, res.headers);
  }

  exists(key: string): Promise<boolean> {
    return instrument(
      this.#source,
      'exists',
      async () => {
        this.#assertOpen();
        validateKey(key);
        try {
          await this.#head('exists', key);
          this.#bucketSeen = true;
          return true;
        } catch (error) {
          if (!(error instanceof NotFoundError || isInfrastructureError(error, 'NOT_FOUND'))) throw error;
        }
        // A HEAD's 404 has no body to tell a missing object from a missing bucket; get, put and
        // list report a missing bucket, so exists() does too (asked until the bucket is seen once).
        if (!this.#bucketSeen) {
          const { leanClient: client, bucket } = this.#ctx;
          if (!(await this.#ctx.call('exists', undefined, () => client.bucketExists(bucket)))) {
            throw this.#ctx.translate(
              Object.assign(new Error('NoSuchBucket'), { name: 'S3Error', code: 'NoSuchBucket' }),
              'exists',
            );
          }
          this.#bucketSeen = true;
        }
        return false;
      },
      undefined,
      { key },
    );
  }

  delete(key: string): Promise<void> {
    return instrument(
      this.#source,
      'delete',
      async () => {
        this.#assertOpen();
        validateKey(key);
        const { leanClient: client, bucket } = this.#ctx;
        await this.#ctx.call('delete', key, () => client.removeObject(bucket, key));
      },
      undefined,
      { key },
    );
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return instrument(
      this.#source,
      'deleteMany',
      async () => {
        this.#assertOpen();
        const checked = readKeyList(keys, (key) => {
          validateKey(key);
          return key;
        });
        const all = [...new Set(checked)];
        const { client, bucket } = this.#ctx;
        // A key with leading or trailing whitespace goes in a DELETE of its own: XML parsers of
        // S3-compatible servers may trim text nodes, and `a ` would then delete `a`.
        const unique: string[] = [];
        for (const key of all) {
          if (key.trim() === key) unique.push(key);
          else await this.#ctx.call('deleteMany', key, () => client.removeObject(bucket, key));
        }
        if (unique.length === 0) return;
        // minio sends DeleteObjects in batches of 1,000 (the S3 limit).
        const errors = await this.#ctx.call('deleteMany', undefined, () =>
          client.removeObjects(bucket, unique),
        );
        const failed = (errors as { Code?: string }[]).filter((e) => e.Code && e.Code !== 'NoSuchKey');
        const [first] = failed;
        if (first !== undefined) {
          throw this.#ctx.translate(
            Object.assign(new Error(first.Code), { name: 'S3Error', code: first.Code }),
            `deleteMany (${failed.length} of ${unique.length} failed)`,
          );
        }
      },
      undefined,
      { keys },
    );
  }

  list(prefix?: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    return listObjects(
      this.#source,
      () => this.#assertOpen(),
      prefix,
      () => readListOptions(options),
      (wanted, limit) => this.#pages(wanted, limit),
    );
  }

  /** The objects under `prefix`, a page at a time, asking for no more than `limit` in all. */
  async *#pages(prefix: string, limit: number): AsyncGenerator<ListedObject> {
    let asked = 0;
    let token: string | undefined;
    while (asked < limit) {
      const page = await listPage(this.#ctx, prefix, token, Math.min(1000, limit - asked));
      asked += page.objects.length;
      yield* page.objects;
      token = page.nextToken;
      if (token === undefined) break;
    }
  }

  copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    return instrument(
      this.#source,
      'copy',
      async () => {
        this.#assertOpen();
        validateKey(fromKey, 'source key');
        validateKey(toKey, 'target key');
        // S3 refuses a plain copy onto itself (InvalidRequest); on every driver it is a no-op
        // that leaves the object, its metadata and its etag as they are.
        if (fromKey === toKey) return this.#head('copy', fromKey);
        const { leanClient: client, bucket } = this.#ctx;
        const source = `/${bucket}/${copySourceEscape(fromKey)}`;
        await this.#ctx.call('copy', fromKey, async () => {
          const res = await client.makeRequestAsync(
            {
              method: 'PUT',
              bucketName: bucket,
              objectName: toKey,
              headers: { 'x-amz-copy-source': source },
            },
            '',
            [200],
          );
          // CopyObject may answer 200 with an <Error> body.
          const error = embeddedError(await readText(res));
          if (error) throw error;
        });
        return this.#head('copy', toKey);
      },
      (r) => r.size,
      { key: toKey, sourceKey: fromKey },
    );
  }

  signedUrl(key: string, signedUrlOptions: SignedUrlOptions = {}): Promise<string> {
    return instrument(
      this.#source,
      'signedUrl',
      async () => {
        this.#assertOpen();
        validateKey(key);
        const { method, expiresInS, contentType } = readSignedUrlOptions(
          signedUrlOptions,
          MESSAGE_PREFIX,
          this.#ctx.options.maxSignedUrlExpiresInS,
        );
        // Local, no network call: minio's client lays out the request (host, path style,
        // escaping), the signer with the day's key kept signs it (minio's presignedUrl
        // derives the key anew: about 120 µs a URL instead of 10).
        const query =
          method === 'GET' && contentType ? `response-content-type=${uriEscape(contentType)}` : undefined;
        try {
          const request = (this.#presigner as unknown as RequestLayout).getRequestOptions({
            method,
            region: this.#ctx.options.region,
            bucketName: this.bucket,
            objectName: key,
            query,
          });
          return this.#signer.presign(request, expiresInS);
        } catch (error) {
          throw this.#ctx.translate(error, 'signedUrl', key);
        }
      },
      undefined,
      { key },
    );
  }

  /**
   * A cheap bucket check (one HEAD of the bucket, no retries) within a second: `up` when the
   * bucket exists, `down` when it does not, the service does not answer in time, refuses the
   * credentials, or after {@link close}. Never throws.
   */
  health(): Promise<HealthReport> {
    const { endPoint, port } = this.#ctx.options;
    const target = `${endPoint}:${port}/${this.bucket}`;
    if (this.#closed) return Promise.resolve(closedHealth('storage', target));
    return boundedHealth(
      'storage',
      async () => {
        let exists: boolean;
        try {
          exists = await this.#ctx.leanClient.bucketExists(this.bucket);
        } catch (error) {
          // Reported with this package's stable codes (ACCESS_DENIED, CONNECTION, …), not the
          // server's or the socket's (AccessDenied, ECONNREFUSED).
          throw this.#ctx.translate(error, 'health');
        }
        return exists
          ? { status: 'up', resource: 'storage', target, details: { driver: 's3' } }
          : {
              status: 'down',
              resource: 'storage',
              target,
              error: { code: 'NOT_FOUND', message: `bucket ${this.bucket} does not exist` },
              details: { driver: 's3' },
            };
      },
      { target },
    );
  }

  #closed = false;

  /**
   * Closes the keep-alive connections this storage opened (not those of an agent it was given),
   * which cuts its requests still in flight. `health()` then reports `down`, and every other call
   * rejects with `InvalidArgumentError` before any request (a listing under way, at its next
   * `next()`). Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#ownAgent?.destroy();
  }

  /** Refuses a call once closed, before its arguments are read or a request is sent. */
  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/** The part of a range response's body to pass on, relative to its first byte; undefined if all of it. */
function rangeSlice(
  range: string,
  status: number | undefined,
  contentRange: string | undefined,
): { start: number; end: number } | undefined {
  const [start, end] = range.slice('bytes='.length).split('-').map(Number) as [number, number];
  let first = 0;
  let last = Number.POSITIVE_INFINITY;
  if (status === 206) {
    const m = /bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
    if (!m) return undefined;
    first = Number(m[1]);
    last = Number(m[2]);
    if (first === start && last <= end) return undefined;
  }
  return { start: start - first, end: Math.min(end, last) - first };
}

const KEEP_IN_COPY_SOURCE: Record<string, string> = {
  '%2F': '/',
  '%3A': ':',
  '%40': '@',
  '%2C': ',',
  '%3B': ';',
  '%3D': '=',
  '%24': '$',
};

/**
 * URL-encodes a key for `x-amz-copy-source`, leaving the reserved characters that servers read
 * either way (s3rver decodes the header with `decodeURI`, which leaves `%3A` and the like
 * encoded). '?', '#', '&', '+' and '%' stay encoded.
 */
function copySourceEscape(key: string): string {
  return encodeURIComponent(key).replace(/%2F|%3A|%40|%2C|%3B|%3D|%24/g, (m) => KEEP_IN_COPY_SOURCE[m] ?? m);
}

/** minio's (protected) request layout, which presigning reuses. */
interface RequestLayout {
  getRequestOptions(opts: {
    method: string;
    region: string;
    bucketName: string;
    objectName: string;
    query: string | undefined;
  }): { method: string; protocol: string; path: string; headers: Record<string, string> };
}

/** A keep-alive agent for the endpoint: CONNECT tunnels when a proxy applies to it. */
function ownAgent(o: ResolvedS3Options): http.Agent {
  const options = { keepAlive: true, maxSockets: 64 };
  const endpoint = new URL(
    `${o.useSSL ? 'https' : 'http'}://${o.endPoint.includes(':') ? `[${o.endPoint}]` : o.endPoint}:${o.port}/`,
  );
  const proxy = proxyFor(o.proxy, endpoint);
  if (!proxy) return new (o.useSSL ? https.Agent : http.Agent)(options);
  const tunnel = {
    proxy,
    prefix: MESSAGE_PREFIX,
    connectTimeoutMs: o.requestTimeoutMs,
    timeoutError: (message: string) => new TimeoutError(message, { maybeExecuted: false }),
  };
  return o.useSSL ? new HttpsTunnelAgent(options, tunnel) : new HttpTunnelAgent(options, tunnel);
}

/**
 * A minio client for the endpoint. With `signer`, it has no credentials (minio then sends
 * requests unsigned) and its transport signs them with the signer's kept key instead.
 */
function newClient(o: ResolvedS3Options, agent: http.Agent, signer?: SigV4Signer): Client {
  return new Client({
    endPoint: o.endPoint,
    port: o.port,
    useSSL: o.useSSL,
    ...(signer === undefined
      ? {
          accessKey: o.accessKey,
          secretKey: o.secretKey,
          ...(o.sessionToken === undefined ? {} : { sessionToken: o.sessionToken }),
        }
      : {}),
    region: o.region,
    pathStyle: o.pathStyle,
    // minio's retry prints to console.warn and cannot resend a stream: ours apply instead.
    retryOptions: { disableRetry: true },
    transport: createTransport(o.useSSL, o.requestTimeoutMs, signer) as unknown as typeof http,
    transportAgent: agent,
  });
}

function newPresigner(o: ResolvedS3Options, url: URL): Client {
  const useSSL = url.protocol === 'https:';
  return new Client({
    endPoint: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: o.accessKey,
    secretKey: o.secretKey,
    ...(o.sessionToken === undefined ? {} : { sessionToken: o.sessionToken }),
    region: o.region,
    pathStyle: o.pathStyle,
    retryOptions: { disableRetry: true },
  });
}

/**
 * An `ObjectStorage` on an S3-compatible service, from options or a URL
 * (`s3://ACCESS:SECRET@host:port/bucket?region=…`, `http://…` for no TLS).
 */
export function createS3Storage(options: S3StorageOptions | string): S3Storage {
  return new S3Storage(options);
}
