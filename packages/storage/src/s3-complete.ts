import { MESSAGE_PREFIX, storageError } from './errors.js';
import type { S3Context } from './s3-context.js';
import { stripQuotes } from './s3-response.js';
import { uriEscape } from './s3-signer.js';
import { decodeEntities, embeddedError, hasRoot, readText, xmlTag } from './s3-xml.js';

/**
 * CompleteMultipartUpload, sent and read here: S3 may answer it 200 with an `<Error>` body
 * (InternalError, SlowDown, …), which minio 8.0.7 fails to parse (a TypeError, the S3 code lost).
 * Here such an answer throws as the server's error reply (`toS3Error` maps it by code: S3_ERROR
 * naming the code, retryable for the 5xx-class codes). Resolves with the object's ETag (without
 * quotes; empty when the server gave none). Not retried: the caller decides (a whole `put` again
 * is safe, the same Complete again is not).
 */
export async function completeMultipartUpload(
  ctx: S3Context,
  key: string,
  uploadId: string,
  parts: readonly { part: number; etag: string }[],
  signal: AbortSignal | undefined,
): Promise<string> {
  const payload = completeXml(parts);
  return ctx.call(
    'put',
    key,
    async () => {
      // Signed by minio (the credentialed client), as it signs the requests whose body it builds.
      const res = await ctx.client.makeRequestAsync(
        { method: 'POST', bucketName: ctx.bucket, objectName: key, query: `uploadId=${uriEscape(uploadId)}` },
        payload,
        [200],
      );
      const xml = await readText(res);
      const error = embeddedError(xml);
      if (error) throw error;
      if (!hasRoot(xml, 'CompleteMultipartUploadResult')) {
        throw storageError(
          'S3_ERROR',
          `${MESSAGE_PREFIX} put: malformed answer from the server to CompleteMultipartUpload`,
        );
      }
      return stripQuotes(decodeEntities(xmlTag(xml, 'ETag') ?? ''));
    },
    { signal, retry: false },
  );
}

/** The CompleteMultipartUpload request body (the parts in the order given). */
function completeXml(parts: readonly { part: number; etag: string }[]): string {
  const items = parts
    .map((p) => `<Part><PartNumber>${p.part}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${items}</CompleteMultipartUpload>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
