import type { IncomingMessage } from 'node:http';

/** The text of the first `<name>…</name>` element in `xml` (not decoded), if any. */
export function xmlTag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1];
}

/** Decodes XML's predefined entities and character references. */
export function decodeEntities(text: string): string {
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

/** Whether `xml`'s root element is `<name>` (after any XML declaration, comments and whitespace). */
export function hasRoot(xml: string, name: string): boolean {
  const body = xml.replace(/^\uFEFF?\s*(<\?xml[\s\S]*?\?>\s*)?(<!--[\s\S]*?-->\s*)*/, '');
  return new RegExp(`^<${name}[\\s>]`).test(body);
}

/**
 * The S3 error code of an `<Error>` answer given with 200 (CopyObject and
 * CompleteMultipartUpload may answer so), as minio's `S3Error` shape that `toS3Error` maps by
 * code; undefined when the answer is no error.
 */
export function embeddedError(xml: string): Error | undefined {
  if (!hasRoot(xml, 'Error')) return undefined;
  const code = decodeEntities(xmlTag(xml, 'Code') ?? '').trim() || 'UnknownError';
  return Object.assign(new Error(code), { name: 'S3Error', code });
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
