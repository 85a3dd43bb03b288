import {
  type AbortedError,
  type PutBody,
  PutBodyReader,
  type PutBodyReaderOptions,
  signalAbortedError,
  throwIfSignalAborted,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

// What a put body may be and how it is read (size limit, declared size, checksum, abort,
// failing streams) is the contracts' rule (`PutBodyReader`), shared with the memory driver;
// this module applies it with this package's message prefix. It streams: one chunk at a time.

/** What {@link BodyReader} checks while the body streams through. */
export type BodyReaderOptions = PutBodyReaderOptions;

/**
 * Reads a `put` body (string, bytes, Readable, async iterable) as Buffers, counting bytes,
 * hashing when a checksum is expected, and turning every way it can go wrong into a typed
 * error (see the contracts' `PutBodyReader`). Call {@link finish} after the last chunk to check
 * the declared size and the checksum.
 */
export class BodyReader extends PutBodyReader {
  constructor(body: PutBody, options: BodyReaderOptions) {
    super(body, options, MESSAGE_PREFIX);
  }
}

/** The `AbortedError` for an aborted signal. */
export function abortedError(signal: AbortSignal): AbortedError {
  return signalAbortedError(signal, MESSAGE_PREFIX);
}

/** Throws `AbortedError` when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  throwIfSignalAborted(signal, MESSAGE_PREFIX);
}
