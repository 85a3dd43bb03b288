import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type CheckedPutOptions,
  checksumDigest,
  type InfrastructureError,
  isInfrastructureError,
  type PutChecksum,
  type PutResult,
} from '@voelgoed/contracts';
import { abortedError, type BodyReader } from './body-reader.js';
import type { S3Context } from './s3-context.js';
import { drain, etagOf } from './s3-response.js';

/**
 * Stores bytes already in memory with one PUT (retried per the options: the bytes can be sent
 * again). Their SHA-256 is signed on plain HTTP; over TLS a Content-MD5 lets the server check them.
 */
export async function putBuffer(
  ctx: S3Context,
  key: string,
  headers: Record<string, string>,
  data: Buffer,
  options: CheckedPutOptions,
): Promise<PutResult> {
  if (ctx.options.useSSL) headers['content-md5'] = createHash('md5').update(data).digest('base64');
  // Signed by the lean client's transport: the payload's SHA-256 on plain HTTP (as minio does),
  // UNSIGNED-PAYLOAD over TLS (the Content-MD5 above lets the server check the bytes).
  headers['x-amz-content-sha256'] = ctx.options.useSSL
    ? 'UNSIGNED-PAYLOAD'
    : createHash('sha256').update(data).digest('hex');
  const res = await ctx.call(
    'put',
    key,
    async () => {
      const r = await ctx.leanClient.makeRequestAsync(
        // minio adds to the headers it is given: a copy per attempt.
        { method: 'PUT', bucketName: ctx.bucket, objectName: key, headers: { ...headers } },
        data,
        [200],
      );
      await drain(r);
      return r;
    },
    { signal: options.signal },
  );
  options.onProgress?.(data.length);
  return { key, etag: etagOf(res), size: data.length };
}

/**
 * Stores a stream of declared `size` with one PUT, sent as it is read: memory stays at a chunk
 * or two whatever the size. The server stores the object once `size` bytes arrived, so the last
 * chunk is held back until the source has ended (more bytes than declared is an error) and the
 * checksum matched; a source that fails or ends early cuts the request, and the server keeps
 * nothing. Not retried (the stream cannot be read twice). Its SHA-256 cannot be signed before it
 * is sent: the payload goes `UNSIGNED-PAYLOAD` (as minio does over TLS), except that a given
 * `sha256` checksum is signed (the server verifies it) and a given `md5` goes as Content-MD5.
 */
export async function putStream(
  ctx: S3Context,
  key: string,
  headers: Record<string, string>,
  reader: BodyReader,
  size: number,
  options: CheckedPutOptions,
): Promise<PutResult> {
  const { signal, onProgress } = options;
  const state: StreamState = { at: Date.now(), readError: undefined };
  const chunks = declaredChunks(reader, size, ctx.options.partSize, onProgress, state);
  const body = Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 });
  const { md5, sha256 } = checksumHeaders(options.checksum);
  const requestHeaders: Record<string, string> = { ...headers, 'content-length': String(size) };
  if (md5 !== undefined) requestHeaders['content-md5'] = md5;
  // Signed by the lean client's transport: a given SHA-256 on plain HTTP (as minio would sign
  // it), else UNSIGNED-PAYLOAD (as minio does over TLS).
  requestHeaders['x-amz-content-sha256'] =
    sha256 !== undefined && !ctx.options.useSSL ? sha256 : 'UNSIGNED-PAYLOAD';
  try {
    const res = await ctx.call(
      'put',
      key,
      async () => {
        const r = await ctx.leanClient.makeRequestStreamAsync(
          { method: 'PUT', bucketName: ctx.bucket, objectName: key, headers: requestHeaders },
          body,
          '',
          [200],
          '',
        );
        await drain(r);
        return r;
      },
      { signal, retry: false, activity: state },
    );
    onProgress?.(size);
    return { key, etag: etagOf(res), size };
  } catch (error) {
    body.destroy();
    if (signal?.aborted) throw abortedError(signal);
    if (state.readError !== undefined && isInfrastructureError(state.readError)) throw state.readError;
    throw error as InfrastructureError;
  }
}

/**
 * What a streamed PUT shares with the generator reading its source: when the source last gave
 * bytes (the request's idle clock, `at`), and why reading it failed, if it did.
 */
interface StreamState {
  at: number;
  readError: unknown;
}

/**
 * The source's chunks, exactly `size` bytes of them: the last one held back until the source
 * has ended (more bytes than declared throws) and the reader's checks passed. Progress is
 * reported every `progressStep` bytes; a read error is kept in `state` (the request that
 * consumed it fails with its own error).
 */
async function* declaredChunks(
  reader: BodyReader,
  size: number,
  progressStep: number,
  onProgress: CheckedPutOptions['onProgress'],
  state: StreamState,
): AsyncGenerator<Buffer> {
  const it = reader.chunks();
  try {
    let reported = 0;
    for (;;) {
      const next = await it.next();
      state.at = Date.now();
      if (next.done) {
        reader.finish(); // fewer bytes than declared: throws
        return;
      }
      if (reader.bytes < size) {
        yield next.value;
        if (onProgress && reader.bytes - reported >= progressStep) {
          reported = reader.bytes;
          onProgress(reported);
        }
        continue;
      }
      // The last declared byte: the source must end here (a further byte throws) and the
      // checksum must match before the server gets the chunk that completes the object.
      for (let rest = await it.next(); !rest.done; rest = await it.next());
      reader.finish();
      yield next.value;
      return;
    }
  } catch (error) {
    state.readError = error;
    throw error;
  } finally {
    // Stopped early (the request failed): stop reading the source too.
    await it.return(undefined);
  }
}

/**
 * The expected checksum as S3 request headers: Content-MD5 (base64) or the signed SHA-256 (hex).
 * `readPutOptions` already refused a value that is no digest of its algorithm.
 */
function checksumHeaders(checksum: PutChecksum | undefined): { md5?: string; sha256?: string } {
  if (checksum === undefined) return {};
  const digest = checksumDigest(checksum);
  return checksum.algorithm === 'md5'
    ? { md5: digest.toString('base64') }
    : { sha256: digest.toString('hex') };
}
