import type { InfrastructureError } from '@voelgoed/contracts';
import type { Client } from 'minio';
import { withRetry } from './retry.js';
import { toS3Error } from './s3-errors.js';
import type { ResolvedS3Options } from './s3-options.js';
import { requestScope } from './s3-transport.js';

/** What the S3 driver's parts share: the minio client, the options, and a guarded way to call. */
export interface S3Context {
  readonly client: Client;
  /**
   * The same endpoint through a client without credentials whose transport signs each request
   * with the day's signing key, kept (minio derives it anew per request, about 60 µs of CPU):
   * for requests without a body, or whose caller sets `x-amz-content-sha256` itself.
   */
  readonly leanClient: Client;
  readonly options: ResolvedS3Options;
  readonly bucket: string;
  /**
   * Calls minio inside the request scope (so `signal` reaches the socket), retrying retryable
   * failures per the options (unless `retry` is false), and translating every error.
   */
  call<T>(
    operation: string,
    key: string | undefined,
    fn: () => Promise<T>,
    opts?: { signal?: AbortSignal | undefined; retry?: boolean; activity?: { at: number } },
  ): Promise<T>;
  translate(error: unknown, operation: string, key?: string): InfrastructureError;
}

export function createS3Context(client: Client, leanClient: Client, options: ResolvedS3Options): S3Context {
  const bucket = options.bucket;
  const translate = (error: unknown, operation: string, key?: string) =>
    toS3Error(error, { operation, key, bucket });
  return {
    client,
    leanClient,
    options,
    bucket,
    translate,
    call(operation, key, fn, opts) {
      const signal = opts?.signal;
      const activity = opts?.activity;
      const run = () =>
        withRetry(fn, (error) => translate(error, operation, key), {
          retries: opts?.retry === false ? 0 : options.retries,
          baseDelayMs: options.retryBaseDelayMs,
          signal,
        });
      // Without a signal or an activity clock the scope would be empty: outside any scope (the
      // usual case) that is what the transport already sees, so no new context is made.
      if (signal === undefined && activity === undefined && requestScope.getStore() === undefined)
        return run();
      return requestScope.run({ signal, activity }, run);
    },
  };
}
