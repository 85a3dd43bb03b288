import { createHash } from 'node:crypto';
import {
  type CheckedPutOptions,
  PayloadTooLargeError,
  type PutBody,
  type PutResult,
} from '@voelgoed/contracts';
import { abortedError, BodyReader, throwIfAborted } from './body-reader.js';
import { MESSAGE_PREFIX } from './errors.js';
import { objectHeaders } from './object-headers.js';
import { completeMultipartUpload } from './s3-complete.js';
import type { S3Context } from './s3-context.js';
import { stripQuotes } from './s3-response.js';
import { putBuffer, putStream } from './s3-single-put.js';
import { ignore } from './s3-transport.js';

const MAX_PARTS = 10_000;
/** No part buffer yet (see `MultipartPut.run`): never written to, never dispatched. */
const NO_BYTES: Buffer = Buffer.alloc(0);
const MiB = 1024 * 1024;

/**
 * Stores `body` under `key`. A body of known size (bytes, a string, or a stream with `size`
 * declared) up to `multipartThreshold` goes in one PUT: from memory, buffered in one part
 * buffer (a stream up to `partSize`), or streamed (a larger stream). Anything else is a
 * multipart upload driven here (not by minio's `putObject`, see the README): parts numbered
 * 1..n in order, uploaded `concurrency` at a time from a pool of `concurrency + 1` part
 * buffers, each retried on its own; any failure or abort aborts the upload so that no parts
 * are left behind. A stream of unknown length that ends within one part also goes in one PUT.
 */
export async function s3Put(
  ctx: S3Context,
  key: string,
  body: PutBody,
  options: CheckedPutOptions,
): Promise<PutResult> {
  const { signal } = options;
  const headers = objectHeaders(options);
  const reader = new BodyReader(body, {
    size: options.size,
    maxBytes: ctx.options.maxObjectSize,
    checksum: options.checksum,
    signal,
  });
  throwIfAborted(signal);
  const whole = reader.inMemory;
  const declared = options.size ?? whole?.length;
  if (declared !== undefined && declared > ctx.options.maxObjectSize) {
    throw new PayloadTooLargeError(
      `${MESSAGE_PREFIX} the object is larger than the limit of ${ctx.options.maxObjectSize} bytes`,
      ctx.options.maxObjectSize,
    );
  }
  const { multipartThreshold } = ctx.options;
  let partSize = ctx.options.partSize;
  if (whole !== undefined && whole.length <= multipartThreshold) {
    // Counted, hashed and checked (declared size, checksum) before anything is sent.
    reader.readWhole();
    try {
      return await putBuffer(ctx, key, headers, whole, options);
    } catch (error) {
      if (signal?.aborted) throw abortedError(signal);
      throw error;
    }
  }
  if (
    whole === undefined &&
    declared !== undefined &&
    declared > partSize &&
    declared <= multipartThreshold
  ) {
    return putStream(ctx, key, headers, reader, declared, options);
  }
  // Grow parts for a known large size so that it fits in 10,000 of them.
  if (declared !== undefined && Math.ceil(declared / partSize) > MAX_PARTS) {
    partSize = Math.ceil(declared / MAX_PARTS / MiB) * MiB;
  }
  return new MultipartPut(ctx, key, headers, reader, partSize, declared, options).run();
}

interface DonePart {
  part: number;
  etag: string;
}

class MultipartPut {
  readonly #pool: Buffer[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #parts: DonePart[] = [];
  readonly #internal = new AbortController();
  readonly #signal: AbortSignal;
  #uploadId: string | undefined;
  #nextPart = 1;
  #sent = 0;
  #failure: unknown;
  readonly #ctx: S3Context;
  readonly #key: string;
  readonly #headers: Record<string, string>;
  readonly #reader: BodyReader;
  readonly #partSize: number;
  readonly #declared: number | undefined;
  readonly #options: CheckedPutOptions;

  constructor(
    ctx: S3Context,
    key: string,
    headers: Record<string, string>,
    reader: BodyReader,
    partSize: number,
    declared: number | undefined,
    options: CheckedPutOptions,
  ) {
    this.#ctx = ctx;
    this.#key = key;
    this.#headers = headers;
    this.#reader = reader;
    this.#partSize = partSize;
    this.#declared = declared;
    this.#options = options;
    this.#signal = options.signal
      ? AbortSignal.any([options.signal, this.#internal.signal])
      : this.#internal.signal;
  }

  async run(): Promise<PutResult> {
    const partSize = this.#partSize;
    // The part being filled: NO_BYTES until the first chunk arrives and after each dispatch.
    let buffer: Buffer = NO_BYTES;
    let filled = 0;
    try {
      for await (let chunk of this.#reader.chunks()) {
        this.#throwIfFailed();
        while (chunk.length > 0) {
          if (filled === partSize) {
            // A full part and more bytes to come: this is a multipart upload.
            await this.#dispatch(buffer, filled, true);
            buffer = NO_BYTES;
            filled = 0;
          }
          if (filled === 0 && chunk.length >= partSize && this.#uploadId !== undefined) {
            // A chunk holding a whole part is sent as it is (no copy), never as one oversized part.
            await this.#dispatch(chunk, partSize, false);
            chunk = chunk.subarray(partSize);
            continue;
          }
          buffer = this.#room(buffer, filled, chunk.length);
          const n = chunk.copy(buffer, filled, 0, Math.min(chunk.length, partSize - filled));
          filled += n;
          chunk = chunk.subarray(n);
        }
      }
      this.#reader.finish();
      const uploadId = this.#uploadId;
      if (uploadId === undefined) {
        // Everything fitted in one part (an empty stream included): one PUT.
        const data = filled > 0 ? buffer.subarray(0, filled) : Buffer.alloc(0);
        return await putBuffer(this.#ctx, this.#key, { ...this.#headers }, data, this.#options);
      }
      if (filled > 0) await this.#dispatch(buffer, filled, true);
      await this.#drain();
      return await this.#complete(uploadId);
    } catch (error) {
      const cause = this.#failure ?? error;
      const multipart = this.#uploadId !== undefined;
      const parts = this.#parts.length;
      const aborted = await this.#abort();
      const signal = this.#options.signal;
      if (signal?.aborted) throw abortedError(signal);
      const translated = this.#ctx.translate(cause, 'put', this.#key);
      if (multipart) {
        this.#ctx.options.logger.warn(
          {
            bucket: this.#ctx.bucket,
            partsDone: parts,
            bytesSent: this.#sent,
            errorCode: translated.code,
            abortedOnServer: aborted,
          },
          'storage multipart upload aborted after an error',
        );
      }
      throw translated;
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * A buffer with room for `incoming` more bytes after `filled` (up to a part). Until the upload
   * turns multipart, the first part's buffer starts small and doubles, so that a 1 KiB body
   * does not cost an 8 MiB allocation; after that, full part buffers come from the pool.
   */
  #room(buffer: Buffer, filled: number, incoming: number): Buffer {
    const partSize = this.#partSize;
    const needed = Math.min(partSize, filled + incoming);
    if (buffer.length >= needed) return buffer;
    if (buffer === NO_BYTES && this.#uploadId !== undefined)
      return this.#pool.pop() ?? Buffer.allocUnsafe(partSize);
    // A declared size is allocated at once (a part at most); else 64 KiB, doubling.
    const grown = Buffer.allocUnsafe(
      Math.min(partSize, Math.max(needed, this.#declared ?? 64 * 1024, buffer.length * 2)),
    );
    buffer.copy(grown, 0, 0, filled);
    return grown;
  }

  /** Starts uploading bytes [0, length) of `data` as the next part, waiting for a free slot first. */
  async #dispatch(data: Buffer, length: number, pooled: boolean): Promise<void> {
    const ctx = this.#ctx;
    const key = this.#key;
    if (this.#uploadId === undefined) this.#uploadId = await this.#initiate();
    while (this.#inflight.size >= ctx.options.concurrency) {
      await Promise.race(this.#inflight);
      this.#throwIfFailed();
    }
    const part = this.#nextPart++;
    if (part > MAX_PARTS) {
      throw new PayloadTooLargeError(
        `${MESSAGE_PREFIX} the object needs more than ${MAX_PARTS} parts of ${this.#partSize} bytes; raise partSize or declare the size`,
        MAX_PARTS * this.#partSize,
      );
    }
    const payload = data.subarray(0, length);
    const uploadId = this.#uploadId;
    const partHeaders: Record<string, string> = {};
    if (ctx.options.useSSL) partHeaders['content-md5'] = createHash('md5').update(payload).digest('base64');
    const task = ctx
      .call(
        'put',
        key,
        () =>
          ctx.client.uploadPart(
            {
              bucketName: ctx.bucket,
              objectName: key,
              uploadID: encodeURIComponent(uploadId),
              partNumber: part,
              headers: { ...partHeaders },
            },
            payload,
          ),
        { signal: this.#signal },
      )
      .then(
        (result) => {
          this.#parts.push({ part, etag: result.etag });
          this.#sent += length;
          if (pooled && data.length === this.#partSize) this.#pool.push(data);
          this.#options.onProgress?.(this.#sent);
        },
        (error: unknown) => {
          this.#failure ??= error;
          // Stop the other parts now: the upload is lost anyway.
          this.#internal.abort();
        },
      )
      .finally(() => this.#inflight.delete(task));
    this.#inflight.add(task);
  }

  /**
   * Initiates the multipart upload. An abort does not cut this request: the server may have
   * created the upload already (radosgw did about half the time), and only its answer names it.
   * The abort rejects at once; the upload, once named, is aborted in the background (the request
   * is bounded by `requestTimeoutMs`).
   */
  async #initiate(): Promise<string> {
    const ctx = this.#ctx;
    const key = this.#key;
    const signal = this.#signal;
    throwIfAborted(signal);
    const initiating = ctx.call('put', key, () =>
      ctx.leanClient.initiateNewMultipartUpload(ctx.bucket, key, { ...this.#headers }),
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(abortedError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([initiating, aborted]);
    } catch (error) {
      if (signal.aborted) initiating.then((uploadId) => this.#abortOnServer(uploadId), ignore);
      throw error;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.race(this.#inflight);
    this.#throwIfFailed();
  }

  async #complete(uploadId: string): Promise<PutResult> {
    const ctx = this.#ctx;
    const key = this.#key;
    const parts = [...this.#parts].sort((a, b) => a.part - b.part);
    // Completing twice is not safe to repeat blindly: not retried (see completeMultipartUpload).
    const completed = await completeMultipartUpload(ctx, key, uploadId, parts, this.#signal);
    this.#uploadId = undefined;
    const etag = completed || (await this.#etagOfParts(parts));
    return { key, etag, size: this.#reader.bytes };
  }

  /**
   * The ETag S3 gives a multipart object, for servers whose CompleteMultipartUpload answers an
   * empty one (radosgw 16): the MD5 of the parts' binary MD5s, then `-` and the part count.
   * Computed from the parts' own ETags rather than asked with a HEAD, which could see a
   * concurrent put of the same key; when a part's ETag is no MD5 (server-side encryption) the
   * HEAD is all there is.
   */
  async #etagOfParts(parts: readonly { etag: string }[]): Promise<string> {
    const md5s = parts.map((p) => stripQuotes(p.etag).toLowerCase());
    if (md5s.every((m) => /^[0-9a-f]{32}$/.test(m))) {
      const joined = createHash('md5')
        .update(Buffer.from(md5s.join(''), 'hex'))
        .digest('hex');
      return `${joined}-${parts.length}`;
    }
    const ctx = this.#ctx;
    const key = this.#key;
    const stat = await ctx.call('put', key, () => ctx.leanClient.statObject(ctx.bucket, key));
    return stripQuotes(stat.etag);
  }

  /**
   * Stops every part in flight and aborts the upload (best effort: errors here change nothing).
   * Resolves whether the server confirmed the abort.
   */
  async #abort(): Promise<boolean> {
    this.#internal.abort();
    await Promise.allSettled([...this.#inflight]);
    const uploadId = this.#uploadId;
    if (uploadId === undefined) return false;
    this.#uploadId = undefined;
    return this.#abortOnServer(uploadId);
  }

  /** AbortMultipartUpload (best effort); resolves whether the server confirmed it. */
  async #abortOnServer(uploadId: string): Promise<boolean> {
    const ctx = this.#ctx;
    const key = this.#key;
    try {
      // Without the (aborted) signal, so that the abort request itself is sent.
      await ctx.call('put', key, () =>
        ctx.leanClient.abortMultipartUpload(ctx.bucket, key, encodeURIComponent(uploadId)),
      );
      return true;
    } catch {
      // Servers without AbortMultipartUpload (s3rver) or an unreachable server: nothing more to do here.
      return false;
    }
  }
}
