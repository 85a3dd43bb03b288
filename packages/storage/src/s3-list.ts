import type { IncomingMessage } from 'node:http';
import type { ListedObject } from '@voelgoed/contracts';
import type { S3Context } from './s3-context.js';
import { uriEscape } from './s3-signer.js';

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
  const urlEncoded = /<EncodingType>\s*url\s*<\/EncodingType>/i.test(xml);
  const decodeKey = (raw: string) => {
    const text = decodeEntities(raw);
    return urlEncoded ? decodeURIComponent(text.replace(/\+/g, ' ')) : text;
  };
  const objects: ListedObject[] = [];
  for (const [, block = ''] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = tag(block, 'Key');
    if (key === undefined) continue;
    objects.push({
      key: decodeKey(key),
      size: Number(tag(block, 'Size') ?? 0),
      etag: decodeEntities(tag(block, 'ETag') ?? '').replace(/^"+|"+$/g, ''),
      lastModified: new Date(tag(block, 'LastModified') ?? 0),
    });
  }
  // The root element's own IsTruncated/NextContinuationToken (never inside a Contents block).
  const outside = xml.replace(/<Contents>[\s\S]*?<\/Contents>/g, '');
  const truncated = tag(outside, 'IsTruncated') === 'true';
  const next = tag(outside, 'NextContinuationToken');
  return { objects, nextToken: truncated && next ? decodeEntities(next) : undefined };
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1];
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const lower = e.toLowerCase();
    if (lower === 'amp') return '&';
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    return String.fromCodePoint(
      lower.startsWith('#x') ? Number.parseInt(lower.slice(2), 16) : Number(lower.slice(1)),
    );
  });
}

/** Reads a response body as UTF-8 text. */
export function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
