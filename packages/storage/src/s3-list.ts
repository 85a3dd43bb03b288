import type { InfrastructureError, ListedObject } from '@voelgoed/contracts';
import { MESSAGE_PREFIX, storageError } from './errors.js';
import type { S3Context } from './s3-context.js';
import { uriEscape } from './s3-signer.js';
import { decodeEntities, hasRoot, readText, xmlTag } from './s3-xml.js';

/** One page of ListObjectsV2. */
export interface ListPage {
  objects: ListedObject[];
  nextToken: string | undefined;
}

/**
 * Fetches one page of ListObjectsV2 and parses it here: minio 8.0.7's parser turns numeric-
 * looking keys into numbers (`007` becomes `7`, `0x10` becomes `16`), so its listing cannot be
 * trusted with such keys.
 */
export async function listPage(
  ctx: S3Context,
  prefix: string,
  token: string | undefined,
  maxKeys: number,
): Promise<ListPage> {
  const query = [
    'list-type=2',
    'encoding-type=url',
    `prefix=${uriEscape(prefix)}`,
    `max-keys=${maxKeys}`,
    ...(token === undefined ? [] : [`continuation-token=${uriEscape(token)}`]),
  ].join('&');
  const xml = await ctx.call('list', undefined, async () => {
    const res = await ctx.leanClient.makeRequestAsync(
      { method: 'GET', bucketName: ctx.bucket, query },
      '',
      [200],
    );
    return readText(res);
  });
  return parseListObjectsV2(xml);
}

/** Parses a ListBucketResult (V2). Exported for tests. */
export function parseListObjectsV2(xml: string): ListPage {
  // A 200 that is no listing (a proxy's HTML page) or a truncated page without the token of the
  // next would otherwise end the listing early, silently: refused instead.
  if (!hasRoot(xml, 'ListBucketResult')) throw malformed('the answer is not a ListBucketResult');
  const urlEncoded = /<EncodingType>\s*url\s*<\/EncodingType>/i.test(xml);
  const decodeKey = (raw: string) => {
    const text = decodeEntities(raw);
    return urlEncoded ? decodeURIComponent(text.replace(/\+/g, ' ')) : text;
  };
  const objects: ListedObject[] = [];
  for (const [, block = ''] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = xmlTag(block, 'Key');
    if (key === undefined) continue;
    objects.push({
      key: decodeKey(key),
      size: Number(xmlTag(block, 'Size') ?? 0),
      etag: decodeEntities(xmlTag(block, 'ETag') ?? '').replace(/^"+|"+$/g, ''),
      lastModified: new Date(xmlTag(block, 'LastModified') ?? 0),
    });
  }
  // The root element's own IsTruncated/NextContinuationToken (never inside a Contents block).
  const outside = xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, '');
  const truncated = xmlTag(outside, 'IsTruncated')?.trim() === 'true';
  const next = xmlTag(outside, 'NextContinuationToken');
  if (!truncated) return { objects, nextToken: undefined };
  if (!next) throw malformed('a truncated ListBucketResult has no NextContinuationToken');
  return { objects, nextToken: decodeEntities(next) };
}

function malformed(what: string): InfrastructureError {
  return storageError('S3_ERROR', `${MESSAGE_PREFIX} list: malformed answer from the server: ${what}`);
}
