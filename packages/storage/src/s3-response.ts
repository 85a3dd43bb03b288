import type { IncomingMessage } from 'node:http';

/** An ETag without its quotes (S3 quotes it; some servers also escape them as `&quot;`). */
export function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^"+|"+$/g, '').replace(/&quot;/g, '');
}

/** The unquoted ETag of a response. */
export function etagOf(res: IncomingMessage): string {
  const etag = res.headers.etag;
  return stripQuotes(typeof etag === 'string' ? etag : '');
}

/** Reads a response body to its end (so that its connection goes back to the pool). */
export function drain(res: IncomingMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    res.on('end', resolve);
    res.on('error', reject);
    res.resume();
  });
}
