import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import { readList, readOptions, readSignal } from '../caller-input.js';
import {
  AbortedError,
  errorCodeOf,
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  NotFoundError,
} from '../errors.js';
import { Channels, createPublisher, type StorageOperationEvent } from '../events.js';
import { inMemoryHealth } from '../health-report.js';
import type { HealthReport } from '../ports/health.js';
import type {
  GetResult,
  ListedObject,
  ListOptions,
  ObjectInfo,
  ObjectStorage,
  ObjectStorageCapabilities,
  PutBody,
  PutOptions,
  PutResult,
  SignedUrlOptions,
} from '../ports/storage.js';
import { checkObjectSize, PutBodyReader } from '../put-body.js';
import { type CheckedPutOptions, readPutOptions } from '../put-options.js';
import { readSignedUrlOptions } from '../signed-url-options.js';
import { type StorageOperationTrace, TraceChannels, traceChannel, traced, traceOperation } from '../trace.js';
import { validate } from '../validate.js';
import { validateObjectKey, validateObjectKeyPrefix } from '../validate-object-key.js';
import { type Clock, systemClock } from './clock.js';

const PREFIX = '[voelgoed:contracts] MemoryObjectStorage:';

const publisher = createPublisher(Channels.storageOperation);
const tracing = traceChannel(TraceChannels.storageOperation);

/** Options of {@link MemoryObjectStorage}. */
export interface MemoryObjectStorageOptions {
  /** Largest object in bytes; larger puts reject with `PayloadTooLargeError` (default: no limit). */
  maxObjectSize?: number;
  /** How many keys `list` takes per page (default 1000, like S3); pages are taken as iterated. */
  pageSize?: number;
  /** Clock for `lastModified` and signed URL expiry (default the system clock; `ManualClock` in tests). */
  clock?: Clock;
  /** Name used in `memory://` signed URLs and in telemetry events (default `memory`). */
  bucket?: string;
}

/** What {@link MemoryObjectStorage.fetchSigned} sends. */
export interface SignedFetchInit {
  /** Must match the method the URL was signed for (default GET). */
  method?: 'GET' | 'PUT';
  /** The body of a PUT. */
  body?: PutBody;
  /** For a PUT: must equal the content type the URL was signed with, if any. */
  contentType?: string;
}

/** What {@link MemoryObjectStorage.fetchSigned} answers, shaped like an HTTP response. */
export interface SignedFetchResponse {
  /** 200 OK, 403 expired / bad signature / wrong method or content type, 404 no such object (GET). */
  status: 200 | 403 | 404;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

interface StoredObject {
  data: Buffer;
  etag: string;
  lastModified: Date;
  contentType: string;
  cacheControl: string | undefined;
  metadata: Readonly<Record<string, string>>;
}

/**
 * An `ObjectStorage` that keeps objects in a `Map` in this process: for tests of business code
 * and for local development. It behaves like the S3 driver (same key rule, errors, MD5 etags,
 * key-ordered lazy listing, integrity checks, signed URLs) but nothing survives the process.
 *
 * Signed URLs are `memory://<bucket>/<base64url key>?…` URLs that only this instance resolves, through
 * {@link MemoryObjectStorage.fetchSigned}.
 */
export class MemoryObjectStorage implements ObjectStorage {
  readonly capabilities: ObjectStorageCapabilities = { signedUrl: true };
  readonly #objects = new Map<string, StoredObject>();
  readonly #maxObjectSize: number | undefined;
  readonly #pageSize: number;
  readonly #clock: Clock;
  readonly #bucket: string;
  readonly #secret = randomBytes(32);

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('storage', this.#closed);
  }

  /**
   * Marks it closed: `health()` reports `down` from then on, and every other call (and the next
   * `next()` of a listing under way) rejects with `InvalidArgumentError`, touching nothing.
   * Bodies already handed out can still be read. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Refuses a call once closed, before its arguments are read. */
  #assertOpen(): void {
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the storage is closed`);
  }

  constructor(options: MemoryObjectStorageOptions = {}) {
    if (options.maxObjectSize !== undefined)
      validate.integer(options.maxObjectSize, 'maxObjectSize', PREFIX, 0);
    if (options.pageSize !== undefined) validate.integer(options.pageSize, 'pageSize', PREFIX, 1);
    if (options.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(options.bucket)) {
      throw new InvalidArgumentError(`${PREFIX} bucket must be lower-case letters, digits, '.' and '-'`);
    }
    this.#maxObjectSize = options.maxObjectSize;
    this.#pageSize = options.pageSize ?? 1000;
    this.#clock = options.clock ?? systemClock;
    this.#bucket = options.bucket ?? 'memory';
  }

  /** How many objects are stored (for assertions in tests). */
  get size(): number {
    return this.#objects.size;
  }

  /** Removes every object (throws `InvalidArgumentError` once closed). */
  clear(): void {
    this.#assertOpen();
    this.#objects.clear();
  }

  put(key: string, body: PutBody, putOptions: PutOptions = {}): Promise<PutResult> {
    return this.#observe('put', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      // One read of each field: a getter or Proxy cannot answer one thing to the check and another later.
      const options = readPutOptions(putOptions, PREFIX);
      if (options.size !== undefined) checkObjectSize(options.size, this.#maxObjectSize, PREFIX);
      const data = await this.#readBody(body, options);
      const etag = md5Hex(data);
      this.#objects.set(key, {
        data,
        etag,
        lastModified: new Date(this.#clock.now()),
        contentType: options.contentType,
        cacheControl: options.cacheControl,
        metadata: Object.freeze(options.metadata),
      });
      return { result: { key, etag, size: data.length }, bytes: data.length };
    });
  }

  /**
   * Reads a put body into one Buffer of its own (later changes to the caller's bytes do not
   * reach the store), checked as every driver checks it: limit, declared size, checksum, abort.
   */
  async #readBody(body: PutBody, options: CheckedPutOptions): Promise<Buffer> {
    const { size, checksum, signal, onProgress } = options;
    const reader = new PutBodyReader(body, { size, maxBytes: this.#maxObjectSize, checksum, signal }, PREFIX);
    const whole = reader.readWhole();
    if (whole !== undefined) {
      onProgress?.(whole.length);
      return Buffer.from(whole);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of reader.chunks()) {
      chunks.push(Buffer.from(chunk));
      onProgress?.(reader.bytes);
    }
    reader.finish();
    return Buffer.concat(chunks, reader.bytes);
  }

  get(key: string, options: { signal?: AbortSignal } = {}): Promise<GetResult> {
    return this.#observe('get', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      const signal = readSignal(readOptions(options, ['signal'], 'get options', PREFIX).signal, PREFIX);
      if (signal?.aborted) {
        throw new AbortedError(`${PREFIX} the operation was aborted`, { cause: signal.reason });
      }
      const stored = this.#require(key);
      const body = bodyStream(stored.data, signal);
      return { result: { ...info(key, stored), body }, bytes: stored.data.length };
    });
  }

  /**
   * Bytes `start`..`end` inclusive; an `end` past the last byte is cut to it. `size` in the
   * result is the whole object's size. A `start` at or past the end of the object rejects with
   * `InvalidArgumentError` (HTTP would answer 416).
   */
  getRange(
    key: string,
    start: number,
    end: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<GetResult> {
    return this.#observe('getRange', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      validate.integer(start, 'range start', PREFIX, 0);
      validate.integer(end, 'range end', PREFIX, 0);
      if (start > end) throw new InvalidArgumentError(`${PREFIX} range start ${start} is after end ${end}`);
      const signal = readSignal(readOptions(options, ['signal'], 'getRange options', PREFIX).signal, PREFIX);
      if (signal?.aborted) {
        throw new AbortedError(`${PREFIX} the operation was aborted`, { cause: signal.reason });
      }
      const stored = this.#require(key);
      if (start >= stored.data.length) {
        throw new InvalidArgumentError(
          `${PREFIX} range start ${start} is not within the object's ${stored.data.length} bytes`,
        );
      }
      const slice = stored.data.subarray(start, Math.min(end, stored.data.length - 1) + 1);
      return { result: { ...info(key, stored), body: bodyStream(slice, signal) }, bytes: slice.length };
    });
  }

  head(key: string): Promise<ObjectInfo> {
    return this.#observe('head', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      return { result: info(key, this.#require(key)) };
    });
  }

  exists(key: string): Promise<boolean> {
    return this.#observe('exists', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      return { result: this.#objects.has(key) };
    });
  }

  delete(key: string): Promise<void> {
    return this.#observe('delete', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      this.#objects.delete(key);
      return { result: undefined };
    });
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return this.#observe('deleteMany', { keys }, async () => {
      this.#assertOpen();
      // Check every key first: a bad key deletes nothing.
      const checked = readList(keys, 'keys', PREFIX, (key) => {
        validateObjectKey(key, PREFIX);
        return key;
      });
      for (const key of checked) this.#objects.delete(key);
      return { result: undefined };
    });
  }

  list(prefix?: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    return { [Symbol.asyncIterator]: () => this.#listGenerator(prefix, options) };
  }

  async *#listGenerator(prefixArg: string | undefined, options: ListOptions): AsyncGenerator<ListedObject> {
    const start = performance.now();
    // The span runs from the first next() to the end of the iteration (or its break).
    const trace = traceOperation(tracing, () => this.#traceContext('list', { key: prefixArg }));
    let listed = 0;
    let errorCode: string | undefined;
    let failure: unknown;
    try {
      this.#assertOpen();
      const prefix = validateObjectKeyPrefix(prefixArg, PREFIX);
      const { limit: rawLimit } = readOptions(options, ['limit'], 'list options', PREFIX);
      if (rawLimit !== undefined) validate.integer(rawLimit, 'list limit', PREFIX, 1);
      const limit = rawLimit ?? Number.POSITIVE_INFINITY;
      let after: Buffer | undefined;
      while (listed < limit) {
        // One page: the next keys after the cursor, like an S3 ListObjectsV2 continuation.
        const page = this.#page(prefix, after, Math.min(this.#pageSize, limit - listed));
        await Promise.resolve();
        for (const item of page) {
          // A listing under way stops at its next next() once the storage is closed.
          this.#assertOpen();
          yield item;
          listed += 1;
        }
        const last = page.at(-1);
        if (page.length < this.#pageSize || last === undefined) return;
        after = Buffer.from(last.key, 'utf8');
      }
    } catch (error) {
      errorCode = errorCodeOf(error);
      failure = error;
      throw error;
    } finally {
      this.#publish('list', start, errorCode, undefined);
      if (trace) {
        if (errorCode !== undefined) trace.context.errorCode = errorCode;
        trace.settle(failure);
      }
    }
  }

  #page(prefix: string, after: Buffer | undefined, count: number): ListedObject[] {
    const keys: Buffer[] = [];
    for (const key of this.#objects.keys()) {
      if (!key.startsWith(prefix)) continue;
      const bytes = Buffer.from(key, 'utf8');
      if (after === undefined || Buffer.compare(bytes, after) > 0) keys.push(bytes);
    }
    // S3 orders keys by their UTF-8 bytes (not by UTF-16 code units, as `<` would).
    keys.sort(Buffer.compare);
    const page: ListedObject[] = [];
    for (const bytes of keys.slice(0, count)) {
      const key = bytes.toString('utf8');
      const stored = this.#objects.get(key);
      if (!stored) continue;
      page.push({
        key,
        size: stored.data.length,
        etag: stored.etag,
        lastModified: new Date(stored.lastModified),
      });
    }
    return page;
  }

  copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    return this.#observe('copy', { key: toKey, sourceKey: fromKey }, async () => {
      this.#assertOpen();
      validateObjectKey(fromKey, PREFIX, 'source key');
      validateObjectKey(toKey, PREFIX, 'target key');
      const source = this.#require(fromKey);
      // A copy onto itself is a no-op on every driver (S3 refuses a plain one): nothing changes.
      if (fromKey === toKey) return { result: info(fromKey, source), bytes: source.data.length };
      const copied: StoredObject = { ...source, lastModified: new Date(this.#clock.now()) };
      this.#objects.set(toKey, copied);
      return { result: info(toKey, copied), bytes: copied.data.length };
    });
  }

  /**
   * A `memory://` URL that lets {@link fetchSigned} GET or PUT `key` until it expires
   * (`expiresInS`, default 900, capped at 7 days). Like S3, signing does not check that the
   * object exists.
   */
  signedUrl(key: string, signedUrlOptions: SignedUrlOptions = {}): Promise<string> {
    return this.#observe('signedUrl', { key }, async () => {
      this.#assertOpen();
      validateObjectKey(key, PREFIX);
      const { method, expiresInS, contentType } = readSignedUrlOptions(signedUrlOptions, PREFIX);
      const expires = Math.floor(this.#clock.now() / 1000 + expiresInS);
      // The key travels base64url-encoded: URL parsing would fold '.' segments of a plain path.
      const url = new URL(`memory://${this.#bucket}/${Buffer.from(key, 'utf8').toString('base64url')}`);
      url.searchParams.set('x-method', method);
      url.searchParams.set('x-expires', String(expires));
      if (contentType !== undefined) url.searchParams.set('x-content-type', contentType);
      url.searchParams.set('x-signature', this.#sign(key, method, expires, contentType));
      return { result: url.href };
    });
  }

  /**
   * Does what an HTTP client would do with a URL from {@link signedUrl}: GET answers the
   * object's bytes, PUT stores `init.body`. Expired or tampered URLs, another method, or another
   * content type than signed answer 403 (as S3 does); a URL that is not a `memory://` URL of
   * this bucket rejects with `InvalidArgumentError`.
   */
  async fetchSigned(url: string, init: SignedFetchInit = {}): Promise<SignedFetchResponse> {
    this.#assertOpen();
    const parsed = this.#parseSignedUrl(url);
    const forbidden = (why: string): SignedFetchResponse => ({
      status: 403,
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from(why),
    });
    const method = init.method ?? 'GET';
    if (!parsed) return forbidden('malformed signature');
    const { key, signedMethod, expires, contentType, signature } = parsed;
    const expected = Buffer.from(this.#sign(key, signedMethod, expires, contentType), 'hex');
    const given = Buffer.from(signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return forbidden('signature does not match');
    }
    if (this.#clock.now() / 1000 >= expires) return forbidden('request has expired');
    if (method !== signedMethod) return forbidden(`signed for ${signedMethod}`);
    if (method === 'GET') {
      const stored = this.#objects.get(key);
      if (!stored)
        return { status: 404, headers: { 'content-type': 'text/plain' }, body: Buffer.from('no such key') };
      return {
        status: 200,
        headers: { 'content-type': stored.contentType, etag: `"${stored.etag}"` },
        body: Buffer.from(stored.data),
      };
    }
    if (contentType !== undefined && init.contentType !== contentType)
      return forbidden('content type differs');
    const result = await this.put(key, init.body ?? '', {
      contentType: init.contentType ?? contentType,
    });
    return { status: 200, headers: { etag: `"${result.etag}"` }, body: Buffer.alloc(0) };
  }

  #parseSignedUrl(
    url: string,
  ):
    | { key: string; signedMethod: 'GET' | 'PUT'; expires: number; contentType?: string; signature: string }
    | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (error) {
      throw new InvalidArgumentError(`${PREFIX} not a URL`, { cause: error });
    }
    if (parsed.protocol !== 'memory:' || parsed.host !== this.#bucket) {
      throw new InvalidArgumentError(`${PREFIX} not a signed URL of memory bucket '${this.#bucket}'`);
    }
    const key = Buffer.from(parsed.pathname.slice(1), 'base64url').toString('utf8');
    const signedMethod = parsed.searchParams.get('x-method');
    const expires = Number(parsed.searchParams.get('x-expires'));
    const signature = parsed.searchParams.get('x-signature') ?? '';
    const contentType = parsed.searchParams.get('x-content-type') ?? undefined;
    if ((signedMethod !== 'GET' && signedMethod !== 'PUT') || !Number.isSafeInteger(expires))
      return undefined;
    if (!/^[0-9a-f]{64}$/.test(signature)) return undefined;
    return { key, signedMethod, expires, contentType, signature };
  }

  #sign(key: string, method: string, expires: number, contentType: string | undefined): string {
    return createHmac('sha256', this.#secret)
      .update(JSON.stringify([this.#bucket, key, method, expires, contentType ?? null]))
      .digest('hex');
  }

  #require(key: string): StoredObject {
    const stored = this.#objects.get(key);
    if (!stored) throw new NotFoundError(`${PREFIX} no object with that key`);
    return stored;
  }

  /**
   * Runs one operation: publishes its event and, when someone subscribes to the trace channel,
   * traces it (the traced promise resolves to nothing: a signed URL or a body stays out of the
   * trace context).
   */
  async #observe<R>(
    operation: StorageOperationEvent['operation'],
    target: TraceTarget,
    run: () => Promise<{ result: R; bytes?: number }>,
  ): Promise<R> {
    if (!tracing.hasSubscribers) return this.#measure(operation, run);
    let out: R;
    // The traced callback resolves to nothing (the result stays out of the trace context); once
    // traced() resolves, the callback has assigned `out` (had it not, traced() would reject).
    return traced(
      tracing,
      () => this.#traceContext(operation, target),
      async (ctx) => {
        try {
          out = await this.#measure(operation, async () => {
            const done = await run();
            if (ctx && done.bytes !== undefined) ctx.bytes = done.bytes;
            return done;
          });
        } catch (error) {
          if (ctx) ctx.errorCode = (error as InfrastructureError).code;
          throw error;
        }
      },
    ).then(() => out);
  }

  #traceContext(operation: StorageOperationEvent['operation'], target: TraceTarget): StorageOperationTrace {
    const ctx: StorageOperationTrace = { operation, driver: 'memory', bucket: this.#bucket };
    if (typeof target.key === 'string') ctx.key = target.key;
    if (typeof target.sourceKey === 'string') ctx.sourceKey = target.sourceKey;
    try {
      if (Array.isArray(target.keys)) ctx.keyCount = target.keys.length;
    } catch {
      // A hostile list (a Proxy): the operation rejects it; the span just has no count.
    }
    return ctx;
  }

  async #measure<R>(
    operation: StorageOperationEvent['operation'],
    run: () => Promise<{ result: R; bytes?: number }>,
  ): Promise<R> {
    const start = performance.now();
    try {
      const { result, bytes } = await run();
      this.#publish(operation, start, undefined, bytes);
      return result;
    } catch (error) {
      const wrapped = isInfrastructureError(error)
        ? error
        : new InfrastructureError('INTERNAL', `${PREFIX} ${operation} failed unexpectedly`, { cause: error });
      this.#publish(operation, start, wrapped.code, undefined);
      throw wrapped;
    }
  }

  #publish(
    operation: StorageOperationEvent['operation'],
    start: number,
    errorCode: string | undefined,
    bytes: number | undefined,
  ): void {
    publisher.publishLazy(() => ({
      operation,
      driver: 'memory',
      bucket: this.#bucket,
      durationMs: performance.now() - start,
      ...(bytes === undefined ? {} : { bytes }),
      outcome: errorCode === undefined ? 'ok' : 'error',
      ...(errorCode === undefined ? {} : { errorCode }),
    }));
  }
}

/** What a span names besides the operation: the key (or prefix), a copy's source, a batch's keys. */
interface TraceTarget {
  key?: unknown;
  sourceKey?: unknown;
  keys?: unknown;
}

function info(key: string, stored: StoredObject): ObjectInfo {
  return {
    key,
    size: stored.data.length,
    etag: stored.etag,
    lastModified: new Date(stored.lastModified),
    contentType: stored.contentType,
    ...(stored.cacheControl === undefined ? {} : { cacheControl: stored.cacheControl }),
    metadata: { ...stored.metadata },
  };
}

/** A stream of a copy of `data` (so a reader that writes into its chunks cannot change the store). */
function bodyStream(data: Buffer, signal?: AbortSignal): Readable {
  const stream = Readable.from(data.length === 0 ? [] : [Buffer.from(data)]);
  if (signal) {
    const onAbort = () =>
      stream.destroy(new AbortedError(`${PREFIX} the operation was aborted`, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return stream;
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
