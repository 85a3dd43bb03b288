import { createHash, type Hash } from 'node:crypto';
import {
  AbortedError,
  IntegrityError,
  InvalidArgumentError,
  PayloadTooLargeError,
  type PutBody,
  type PutOptions,
} from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';

type Checksum = NonNullable<PutOptions['checksum']>;

/** What {@link BodyReader} checks while the body streams through. */
export interface BodyReaderOptions {
  /** Declared size: fewer or more bytes is an `IntegrityError`. */
  size?: number | undefined;
  /** Larger bodies reject with `PayloadTooLargeError` as soon as the limit is passed. */
  maxBytes?: number | undefined;
  checksum?: Checksum | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Reads a `put` body (string, bytes, Readable, async iterable) as Buffers, counting bytes,
 * hashing when a checksum is expected, and turning every way it can go wrong into a typed
 * error: a failing stream is an `IntegrityError` (never a crash or a hang), more bytes than
 * declared or allowed are refused as soon as they arrive, an aborted signal stops the read.
 * Call {@link finish} after the last chunk to check the declared size and the checksum.
 */
export class BodyReader {
  /** Bytes read so far. */
  bytes = 0;
  readonly #body: PutBody;
  readonly #options: BodyReaderOptions;
  readonly #hash: Hash | undefined;
  readonly #whole: Buffer | undefined;
  #finished = false;

  constructor(body: PutBody, options: BodyReaderOptions) {
    validateBodyOptions(options);
    if (!isBody(body)) {
      throw invalidArgument('body must be a string, Uint8Array, Readable or AsyncIterable<Uint8Array>');
    }
    this.#body = body;
    this.#options = options;
    this.#hash = options.checksum ? createHash(options.checksum.algorithm) : undefined;
    if (typeof body === 'string') this.#whole = Buffer.from(body, 'utf8');
    else if (body instanceof Uint8Array)
      this.#whole = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The whole body when it is already in memory (string or bytes), else undefined. */
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
    throwIfAborted(this.#options.signal);
    this.#count(whole);
    this.finish();
    return whole;
  }

  /** The body's chunks. Throws typed errors; destroys the source stream when it stops early. */
  async *chunks(): AsyncGenerator<Buffer> {
    const { signal } = this.#options;
    throwIfAborted(signal);
    const whole = this.inMemory;
    if (whole) {
      this.#count(whole);
      yield whole;
      return;
    }
    const body = this.#body as AsyncIterable<unknown>;
    // A stalled stream yields nothing to check the signal at: destroy it when the signal aborts.
    const onAbort = () =>
      destroyQuietly(body, new AbortedError(`${MESSAGE_PREFIX} the operation was aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of body) {
        throwIfAborted(signal);
        const bytes = toBuffer(chunk);
        this.#count(bytes);
        yield bytes;
      }
    } catch (error) {
      destroyQuietly(body);
      if (signal?.aborted) throw abortedError(signal);
      if (
        error instanceof InvalidArgumentError ||
        error instanceof PayloadTooLargeError ||
        error instanceof IntegrityError
      )
        throw error;
      throw new IntegrityError(
        `${MESSAGE_PREFIX} the body stream failed after ${this.bytes} bytes; nothing was stored`,
        { cause: error },
      );
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    throwIfAborted(signal);
  }

  /** Checks the declared size and the checksum once every chunk was read (once; later calls do nothing). */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const { size, checksum } = this.#options;
    if (size !== undefined && this.bytes !== size) {
      throw new IntegrityError(
        `${MESSAGE_PREFIX} the body has ${this.bytes} bytes but ${size} were declared; nothing was stored`,
      );
    }
    if (checksum && this.#hash) {
      const actual = this.#hash.digest(checksum.encoding ?? 'hex');
      const expected = checksum.encoding === 'base64' ? checksum.value : checksum.value.toLowerCase();
      if (actual !== expected) {
        throw new IntegrityError(
          `${MESSAGE_PREFIX} the body's ${checksum.algorithm} checksum does not match the expected one; nothing was stored`,
        );
      }
    }
  }

  #count(bytes: Buffer): void {
    this.bytes += bytes.length;
    const { size, maxBytes } = this.#options;
    if (maxBytes !== undefined && this.bytes > maxBytes) {
      throw new PayloadTooLargeError(
        `${MESSAGE_PREFIX} the object is larger than the limit of ${maxBytes} bytes`,
        maxBytes,
      );
    }
    if (size !== undefined && this.bytes > size) {
      throw new IntegrityError(
        `${MESSAGE_PREFIX} the body has more than the ${size} bytes declared; nothing was stored`,
      );
    }
    this.#hash?.update(bytes);
  }
}

/** Whether `body` is one of the port's body kinds (false, not a TypeError, for a revoked Proxy). */
function isBody(body: unknown): body is PutBody {
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

function validateBodyOptions(options: BodyReaderOptions): void {
  const { size, checksum } = options;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    throw invalidArgument('size must be a non-negative integer');
  }
  if (checksum !== undefined) {
    if (checksum === null || typeof checksum !== 'object')
      throw invalidArgument('checksum must be { algorithm, value, encoding? }');
    if (checksum.algorithm !== 'md5' && checksum.algorithm !== 'sha256')
      throw invalidArgument("checksum.algorithm must be 'md5' or 'sha256'");
    if (checksum.encoding !== undefined && checksum.encoding !== 'hex' && checksum.encoding !== 'base64')
      throw invalidArgument("checksum.encoding must be 'hex' or 'base64'");
    if (typeof checksum.value !== 'string' || checksum.value.length === 0)
      throw invalidArgument('checksum.value must be a non-empty string');
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw invalidArgument('a body stream must yield Uint8Array or string chunks');
}

/** The `AbortedError` for an aborted signal. */
export function abortedError(signal: AbortSignal): AbortedError {
  return new AbortedError(`${MESSAGE_PREFIX} the operation was aborted`, { cause: signal.reason });
}

/** Throws `AbortedError` when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

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
