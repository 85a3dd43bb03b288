import { AbortedError, IntegrityError, InvalidArgumentError, PayloadTooLargeError } from '../errors.js';
import type { PutBody } from '../ports/storage.js';

/** How to read a `put` body into memory. */
export interface ReadPutBodyOptions {
  /** Message prefix, e.g. `[voelgoed:contracts] MemoryObjectStorage`. */
  prefix: string;
  /** Larger bodies reject with `PayloadTooLargeError` as soon as the limit is passed. */
  maxBytes?: number;
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

/**
 * Reads a string, byte array, Readable or async iterable of chunks into one Buffer (a copy:
 * later changes to the caller's array do not reach what is stored). A failing stream rejects
 * with `IntegrityError` (the body did not arrive whole); an aborted signal with `AbortedError`.
 */
export async function readPutBody(body: PutBody, options: ReadPutBodyOptions): Promise<Buffer> {
  const { prefix, maxBytes, signal } = options;
  const onProgress = quietly(options.onProgress);
  throwIfAborted(signal, prefix);
  if (typeof body === 'string' || isBytes(body)) {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    checkLimit(bytes.length, maxBytes, prefix);
    onProgress?.(bytes.length);
    return bytes;
  }
  if (!isAsyncIterable(body)) {
    throw new InvalidArgumentError(
      `${prefix} body must be a string, Uint8Array, Readable or AsyncIterable<Uint8Array>`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  // A stalled stream yields no chunk to check the signal at: destroy it when the signal aborts.
  const onAbort = () => destroyQuietly(body, new AbortedError(`${prefix} the operation was aborted`));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<unknown>) {
      throwIfAborted(signal, prefix);
      const bytes = toBuffer(chunk, prefix);
      total += bytes.length;
      checkLimit(total, maxBytes, prefix);
      chunks.push(bytes);
      onProgress?.(total);
    }
  } catch (error) {
    destroyQuietly(body);
    if (error instanceof AbortedError || error instanceof PayloadTooLargeError) throw error;
    if (error instanceof InvalidArgumentError) throw error;
    throw new IntegrityError(`${prefix} the body stream failed after ${total} bytes; nothing was stored`, {
      cause: error,
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  throwIfAborted(signal, prefix);
  return Buffer.concat(chunks, total);
}

function toBuffer(chunk: unknown, prefix: string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  throw new InvalidArgumentError(`${prefix} a body stream must yield Uint8Array or string chunks`);
}

function checkLimit(size: number, maxBytes: number | undefined, prefix: string): void {
  if (maxBytes !== undefined && size > maxBytes) {
    throw new PayloadTooLargeError(
      `${prefix} the object is larger than the limit of ${maxBytes} bytes`,
      maxBytes,
    );
  }
}

function throwIfAborted(signal: AbortSignal | undefined, prefix: string): void {
  if (signal?.aborted)
    throw new AbortedError(`${prefix} the operation was aborted`, { cause: signal.reason });
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

/** Whether `body` is a Uint8Array (false for a revoked Proxy, whose prototype cannot be read). */
function isBytes(body: unknown): body is Uint8Array {
  try {
    return body instanceof Uint8Array;
  } catch {
    return false;
  }
}

/** Whether `body` is an object with `Symbol.asyncIterator` (false for a revoked Proxy, not a TypeError). */
function isAsyncIterable(body: unknown): boolean {
  try {
    return body !== null && typeof body === 'object' && Symbol.asyncIterator in body;
  } catch {
    return false;
  }
}

/** `onProgress` is a notification: what it throws is ignored, it does not fail the put. */
function quietly(onProgress: ((bytes: number) => void) | undefined): ((bytes: number) => void) | undefined {
  if (onProgress === undefined) return undefined;
  return (bytes) => {
    try {
      const out: unknown = onProgress(bytes);
      // An async callback's rejection is ignored too (not left unhandled).
      if (out instanceof Promise) out.catch(() => undefined);
    } catch {
      // ignored: the caller's own callback failed, the upload goes on
    }
  };
}
