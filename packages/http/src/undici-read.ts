import { PassThrough, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  type BufferedTransportResponse,
  flattenHeaders,
  type ReadRequest,
  type TransportResponse,
} from './transport.js';
import { mapTransportError } from './transport-errors.js';

/**
 * Whether `error` is undici 7's for a 204 or 304 that declares a `Content-Length`: HTTP allows
 * it (the length the representation would have) and neither status has a body, but undici 7
 * compares the declared length with the bytes read when the message completes and fails it
 * (`UND_ERR_RES_CONTENT_LENGTH_MISMATCH`), after the head and an empty body came. The response is
 * complete: got returns it, and so does undici 8, which ignores the length for them.
 */
export function isBodilessLengthMismatch(status: number, error: unknown): boolean {
  return (
    (status === 204 || status === 304) &&
    (error as { code?: unknown } | null)?.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH'
  );
}

/**
 * The body of a 204 or 304 response as undici's `request()` gives it, ending (empty) where undici 7
 * fails it for a declared length (see {@link isBodilessLengthMismatch}); any other error passes.
 */
export function bodilessBody(status: number, source: Readable): Readable {
  const body = new PassThrough();
  source.once('error', (error) => {
    if (isBodilessLengthMismatch(status, error)) body.end();
    else body.destroy(error);
  });
  body.once('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  return source.pipe(body);
}

type Resolve = (response: TransportResponse | BufferedTransportResponse) => void;
type Reject = (error: unknown) => void;

/**
 * An undici dispatch handler that reads a response into memory: no `Readable`, no
 * `AbortSignal`, one object per request. It settles its promise once, at the first of: body
 * read, failure, or abort (an abort while the request still waits for a connection settles at
 * once; the request is dropped unsent when it reaches the connection).
 */
export class ReadHandler implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #reason: unknown;
  #settled = false;
  #status = 0;
  #headers: Record<string, string> | undefined;
  #chunks: Buffer[] = [];
  #size = 0;
  #limit = 0;
  #stream: Readable | undefined;

  readonly #request: ReadRequest;
  readonly #resolve: Resolve;
  readonly #reject: Reject;

  constructor(request: ReadRequest, resolve: Resolve, reject: Reject) {
    this.#request = request;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Aborts the request with `reason`; the promise rejects with it unless it settled already. */
  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason as Error);
    if (this.#stream) this.#stream.destroy(reason as Error);
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#reason !== undefined) controller.abort(this.#reason as Error);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    rawHeaders: Record<string, string | string[] | undefined> | string,
    statusMessage?: unknown,
  ): void {
    if (statusCode < 200 || this.#reason !== undefined) return;
    // Early undici 7 releases passed the status message before the headers.
    const headers = flattenHeaders(
      typeof rawHeaders === 'string'
        ? ((statusMessage ?? {}) as Record<string, string | string[] | undefined>)
        : rawHeaders,
    );
    this.#status = statusCode;
    let limit: number;
    try {
      limit = this.#request.control.onHead(statusCode, headers);
    } catch (error) {
      this.abort(error);
      return;
    }
    if (limit < 0) {
      // The caller wants a stream (a body to decode): hand one over, with backpressure.
      const stream = new Readable({
        read: () => controller.resume(),
        destroy: (error, callback) => {
          if (!stream.readableEnded) controller.abort(error ?? new Error('response body discarded'));
          callback(error);
        },
      });
      this.#stream = stream;
      this.#settled = true;
      this.#resolve({ status: statusCode, headers, body: stream });
      return;
    }
    this.#headers = headers;
    this.#limit = limit;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#reason !== undefined) return;
    if (this.#stream) {
      if (!this.#stream.push(chunk)) controller.pause();
      return;
    }
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      this.abort(this.#request.control.tooLarge());
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.#reason !== undefined) return;
    if (this.#stream) {
      this.#stream.push(null);
      return;
    }
    if (this.#settled) return;
    this.#settled = true;
    const chunks = this.#chunks;
    const first = chunks[0];
    const bytes =
      first === undefined
        ? Buffer.alloc(0)
        : chunks.length === 1
          ? first
          : Buffer.concat(chunks as Uint8Array[], this.#size);
    this.#resolve({ status: this.#status, headers: this.#headers ?? {}, bytes });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#reason !== undefined) return;
    // A 204 or 304 that undici 7 fails for its declared length came whole: end it, empty.
    if (isBodilessLengthMismatch(this.#status, error)) {
      this.onResponseEnd();
      return;
    }
    if (this.#stream) {
      if (!this.#stream.destroyed) this.#stream.destroy(error);
      return;
    }
    const code = (error as { code?: unknown }).code;
    this.#fail(
      mapTransportError(error, this.#request.method, this.#request.url, code === 'UND_ERR_CONNECT_TIMEOUT'),
    );
  }

  #fail(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#chunks = [];
    this.#reject(error);
  }
}
