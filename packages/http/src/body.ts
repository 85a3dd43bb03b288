import { type Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

const ignore = (): void => {};

/** Destroys a response body nobody reads any more (undici's emit an error on destroy: swallowed). */
export function discard(body: Readable): void {
  body.on('error', ignore);
  body.destroy();
}

/** Wraps `body` in a decoder for its content-encoding (gzip, deflate, br); the body itself otherwise. */
export function decodeBody(body: Readable, contentEncoding: string | undefined): Readable {
  if (!contentEncoding) return body;
  const encoding = contentEncoding.trim().toLowerCase();
  let decoder: Transform | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    decoder = zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } else if (encoding === 'deflate') {
    decoder = zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } else if (encoding === 'br') {
    decoder = zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
  }
  if (!decoder) return body;
  const d = decoder;
  body.on('error', (error) => d.destroy(error));
  d.on('close', () => {
    if (!body.destroyed && !body.readableEnded) discard(body);
  });
  return body.pipe(d);
}

/**
 * The error of a body that failed before anyone listened, else `undefined`: got emits a body's
 * parse error in the same tick as the response head, and a stream destroyed by then tells a
 * reader that comes later nothing (no 'error', no 'end'), so it would wait for ever.
 */
export function failedEarly(body: Readable): unknown {
  if (!body.destroyed || body.readableEnded) return undefined;
  return body.errored ?? new Error('the response body was destroyed before it was read');
}

/** What aborts a body being read: the attempt (see `Attempt`). */
export interface ReadAbort {
  /** Why it was aborted, once it was. */
  readonly reason: unknown;
  /** Registers the reader to call on abort; `undefined` unregisters. */
  setReader(reader: ((reason: unknown) => void) | undefined): void;
  /** The error for a body past its limit. */
  tooLarge(): Error;
}

/**
 * Reads `body` to the end, failing with `PayloadTooLargeError` (and destroying the stream) past
 * `limit` bytes, and with the abort's reason when `abort` fires.
 */
export function readBody(body: Readable, limit: number, abort: ReadAbort): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: unknown, value?: Buffer) => {
      if (done) return;
      done = true;
      abort.setReader(undefined);
      body.off('data', onData);
      if (error !== undefined) {
        discard(body);
        reject(error);
      } else resolve(value ?? Buffer.alloc(0));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        finish(abort.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    if (abort.reason !== undefined) {
      finish(abort.reason);
      return;
    }
    abort.setReader(finish);
    body.on('data', onData);
    body.once('end', () =>
      finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks as Uint8Array[], size)),
    );
    body.once('error', (error) => finish(abort.reason !== undefined ? abort.reason : error));
  });
}

/**
 * Passes `body` through, failing it with `PayloadTooLargeError` past `limit` bytes, and with
 * `failure(error)` when `body` fails (so that no vendor error reaches the reader).
 */
export function limitBody(
  body: Readable,
  limit: number,
  tooLarge: () => Error,
  failure: (error: Error) => Error,
): Readable {
  let size = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      size += chunk.length;
      if (size > limit) callback(tooLarge());
      else callback(null, chunk);
    },
  });
  body.on('error', (error) => limiter.destroy(failure(error)));
  limiter.on('close', () => {
    if (!body.destroyed && !body.readableEnded) discard(body);
  });
  return body.pipe(limiter);
}
