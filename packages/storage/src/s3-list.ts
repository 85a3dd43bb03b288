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
  // Cut off (a connection closed mid-document by a proxy): its entries would be partial or gone.
  if (!/<\/ListBucketResult>\s*$/.test(xml)) throw malformed('the ListBucketResult is cut off');
  const urlEncoded = /<EncodingType>\s*url\s*<\/EncodingType>/i.test(xml);
  const decodeKey = (raw: string) => {
    const text = decodeEntities(raw);
    if (!urlEncoded) return text;
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      throw malformed('a Key is not valid URL encoding');
    }
  };
  const objects: ListedObject[] = [];
  for (const [, block = ''] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    // An entry that cannot be read is an error, not an entry dropped or listed with NaN.
    const key = xmlTag(block, 'Key');
    if (key === undefined) throw malformed('an entry has no Key');
    const sizeText = xmlTag(block, 'Size')?.trim() ?? '';
    if (!/^\d+$/.test(sizeText)) throw malformed('an entry has no Size that is a whole number');
    const lastModified = new Date(xmlTag(block, 'LastModified') ?? '');
    if (Number.isNaN(lastModified.getTime())) throw malformed('an entry has no LastModified date');
    objects.push({
      key: decodeKey(key),
      size: Number(sizeText),
      etag: decodeEntities(xmlTag(block, 'ETag') ?? '').replace(/^"+|"+$/g, ''),
      lastModified,
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
