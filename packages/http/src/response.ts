import type { HttpResponse } from '@voelgoed/contracts';
import { InvalidArgumentError } from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

/** A read response: bytes, with `text()` and `json()` decoding on demand. */
export class BufferedResponse implements HttpResponse {
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: Uint8Array,
    readonly url: string,
    readonly attempts: number,
  ) {}

  text(): string {
    return Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString('utf8');
  }

  json<T = unknown>(): T {
    try {
      return JSON.parse(this.text()) as T;
    } catch (error) {
      throw new InvalidArgumentError(`${MESSAGE_PREFIX} response body (status ${this.status}) is not JSON`, {
        cause: error instanceof Error ? new Error(error.message) : undefined,
      });
    }
  }
}
