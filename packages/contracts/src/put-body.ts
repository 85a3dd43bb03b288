import { createHash, type Hash } from 'node:crypto';
import { AbortedError, IntegrityError, InvalidArgumentError, PayloadTooLargeError } from './errors.js';
import type { PutBody } from './ports/storage.js';
import { checksumDigest, type PutChecksum, readPutChecksum } from './put-options.js';
import { validate } from './validate.js';

/**
 * The rule of the `ObjectStorage` port for `put` bodies, in one place for every driver: what a
 * body may be, how its chunks become bytes, the size limit, the declared size and checksum, and
 * what an abort or a failing stream becomes.
 */

/** What {@link PutBodyReader} checks while the body streams through. */
export interface PutBodyReaderOptions {
  /** Declared size: fewer or more bytes is an `IntegrityError`. */
  size?: number | undefined;
  /** Larger bodies reject with `PayloadTooLargeError` as soon as the limit is passed. */
  maxBytes?: number | undefined;
  /** Expected checksum: a mismatch is an `IntegrityError` (checked by {@link PutBodyReader.finish}). */
  checksum?: PutChecksum | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Reads a `put` body (string, bytes, Readable, async iterable) as Buffers, counting bytes,
 * hashing when a checksum is expected, and turning every way it can go wrong into a typed
 * error: a failing stream is an `IntegrityError` (never a crash or a hang), more bytes than
 * declared or allowed are refused as soon as they arrive, an aborted signal stops the read
 * (`AbortedError`) and destroys a stalled stream. It holds one chunk at a time: a driver that
 * streams stays bounded in memory. Call {@link finish} after the last chunk to check the
 * declared size and the checksum. Messages start with `prefix`.
 */
export class PutBodyReader {
  /** Bytes read so far. */
  bytes = 0;
  readonly #body: PutBody;
  readonly #options: PutBodyReaderOptions;
  readonly #prefix: string;
  readonly #hash: Hash | undefined;
  readonly #whole: Buffer | undefined;
  #finished = false;

  /** Checks `options.size` and `options.checksum` and what `body` is (`InvalidArgumentError`). */
  constructor(body: PutBody, options: PutBodyReaderOptions, prefix: string) {
    if (options.size !== undefined) validate.integer(options.size, 'size', prefix, 0);
    readPutChecksum(options.checksum, prefix);
    if (!isPutBody(body)) {
      throw new InvalidArgumentError(
        `${prefix} body must be a string, Uint8Array, Readable or AsyncIterable<Uint8Array>`,
      );
    }
    this.#body = body;
    this.#options = options;
    this.#prefix = prefix;
    this.#hash = options.checksum ? createHash(options.checksum.algorithm) : undefined;
    if (typeof body === 'string') this.#whole = Buffer.from(body, 'utf8');
    else if (body instanceof Uint8Array)
      this.#whole = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The whole body when it is already in memory (string or bytes; a view, not a copy), else undefined. */
  get inMemory(): Buffer | undefined {
    return this.#whole;
  }

  /**
   * For a body in memory: counts, hashes and checks it in one step (no async iteration) and
   * returns it; {@link finish} has then run. Undefined for a stream.
   */
  readWhole(): Buffer | undefined {
    const whole = this.#whole;
    if (whole === undefined) return undefined;
    throwIfSignalAborted(this.#options.signal, this.#prefix);
    this.#count(whole);
    this.finish();
    return whole;
  }

  /** The body's chunks. Throws typed errors; destroys the source stream when it stops early. */
  async *chunks(): AsyncGenerator<Buffer> {
    const { signal } = this.#options;
    const prefix = this.#prefix;
    throwIfSignalAborted(signal, prefix);
    const whole = this.#whole;
    if (whole) {
      this.#count(whole);
      yield whole;
      return;
    }
    const body = this.#body as AsyncIterable<unknown>;
    // A stalled stream yields nothing to check the signal at: destroy it when the signal aborts.
    const onAbort = () => destroyQuietly(body, new AbortedError(`${prefix} the operation was aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of body) {
        throwIfSignalAborted(signal, prefix);
        const bytes = chunkBytes(chunk, prefix);
        this.#count(bytes);
        yield bytes;
      }
    } catch (error) {
      destroyQuietly(body);
      throw this.#readFailure(error);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    throwIfSignalAborted(signal, prefix);
  }

  /** Checks the declared size and the checksum once every chunk was read (once; later calls do nothing). */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const { size, checksum } = this.#options;
    if (size !== undefined && this.bytes !== size) {
      throw new IntegrityError(
        `${this.#prefix} the body has ${this.bytes} bytes but ${size} were declared; nothing was stored`,
      );
    }
    if (checksum && this.#hash && !this.#hash.digest().equals(checksumDigest(checksum))) {
      throw new IntegrityError(
        `${this.#prefix} the body's ${checksum.algorithm} checksum does not match the expected one; nothing was stored`,
      );
    }
  }

  #count(bytes: Buffer): void {
    this.bytes += bytes.length;
    const { size, maxBytes } = this.#options;
    checkObjectSize(this.bytes, maxBytes, this.#prefix);
    if (size !== undefined && this.bytes > size) {
      throw new IntegrityError(
        `${this.#prefix} the body has more than the ${size} bytes declared; nothing was stored`,
      );
    }
    this.#hash?.update(bytes);
  }

  /**
   * What a failed read becomes: `AbortedError` once the signal aborted; the reader's own typed
   * errors as they are; anything the source threw an `IntegrityError` (the body did not arrive
   * whole).
   */
  #readFailure(error: unknown): Error {
    const { signal } = this.#options;
    if (signal?.aborted) return signalAbortedError(signal, this.#prefix);
    if (
      error instanceof InvalidArgumentError ||
      error instanceof PayloadTooLargeError ||
      error instanceof IntegrityError
    )
      return error;
    return new IntegrityError(
      `${this.#prefix} the body stream failed after ${this.bytes} bytes; nothing was stored`,
      { cause: error },
    );
  }
}

/**
 * Throws `PayloadTooLargeError` when `size` bytes pass the limit `maxBytes` (no limit when
 * undefined): for a declared size before reading, and for the bytes read so far.
 */
export function checkObjectSize(size: number, maxBytes: number | undefined, prefix: string): void {
  if (maxBytes !== undefined && size > maxBytes) {
    throw new PayloadTooLargeError(
      `${prefix} the object is larger than the limit of ${maxBytes} bytes`,
      maxBytes,
    );
  }
}

/** The `AbortedError` for an aborted signal (its reason as the cause). */
export function signalAbortedError(signal: AbortSignal, prefix: string): AbortedError {
  return new AbortedError(`${prefix} the operation was aborted`, { cause: signal.reason });
}

/** Throws `AbortedError` when the signal has aborted. */
export function throwIfSignalAborted(signal: AbortSignal | undefined, prefix: string): void {
  if (signal?.aborted) throw signalAbortedError(signal, prefix);
}

/** Whether `body` is one of the port's body kinds (false, not a TypeError, for a revoked Proxy). */
export function isPutBody(body: unknown): body is PutBody {
  if (typeof body === 'string') return true;
  try {
    return (
      body instanceof Uint8Array ||
      (body !== null && typeof body === 'object' && Symbol.asyncIterator in body)
    );
  } catch {
    return false;
  }
}

/** A body stream's chunk as a Buffer (a view of a Uint8Array, not a copy); other chunks are refused. */
function chunkBytes(chunk: unknown, prefix: string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new InvalidArgumentError(`${prefix} a body stream must yield Uint8Array or string chunks`);
}

/** Destroys a stream being abandoned (if it can be destroyed); a failure to do so changes nothing. */
function destroyQuietly(body: unknown, reason?: Error): void {
  const destroy = (body as { destroy?: unknown }).destroy;
  if (typeof destroy === 'function') {
    try {
      destroy.call(body, reason);
    } catch {
      // The stream is being abandoned; a failure to destroy it changes nothing.
    }
  }
}
