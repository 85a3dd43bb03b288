import type { InfrastructureError } from '@voelgoed/contracts';
import type { Client } from 'minio';
import { withRetry } from './retry.js';
import { toS3Error } from './s3-errors.js';
import type { ResolvedS3Options } from './s3-options.js';
import { requestScope } from './s3-transport.js';

/** What the S3 driver's parts share: the minio client, the options, and a guarded way to call. */
export interface S3Context {
  readonly client: Client;
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
    opts?: { signal?: AbortSignal | undefined; retry?: boolean },
  ): Promise<T>;
  translate(error: unknown, operation: string, key?: string): InfrastructureError;
}

export function createS3Context(client: Client, options: ResolvedS3Options): S3Context {
  const bucket = options.bucket;
  const translate = (error: unknown, operation: string, key?: string) =>
    toS3Error(error, { operation, key, bucket });
  return {
    client,
    options,
    bucket,
    translate,
    call(operation, key, fn, opts = {}) {
      const { signal, retry = true } = opts;
      return requestScope.run({ signal }, () =>
        withRetry(fn, (error) => translate(error, operation, key), {
          retries: retry ? options.retries : 0,
          baseDelayMs: options.retryBaseDelayMs,
          signal,
        }),
      );
    },
  };
}
