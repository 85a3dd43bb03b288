import type { PutOptions } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';

const TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** User metadata checked and with lower-case keys. Values must be printable ASCII (HTTP headers). */
export function normalizeMetadata(metadata: PutOptions['metadata']): Record<string, string> {
  const out: Record<string, string> = {};
  if (metadata === undefined) return out;
  if (metadata === null || typeof metadata !== 'object')
    throw invalidArgument('metadata must be an object of strings');
  for (const [rawKey, value] of Object.entries(metadata)) {
    const key = rawKey.toLowerCase();
    if (!TOKEN.test(key))
      throw invalidArgument('metadata keys must be HTTP token characters (a-z, 0-9, -, _ …)');
    if (typeof value !== 'string' || !PRINTABLE.test(value))
      throw invalidArgument('metadata values must be strings of printable ASCII');
    out[key] = value;
  }
  return out;
}

/** Checks a header-like option (content type, cache control). */
export function headerValue(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || !PRINTABLE.test(value))
    throw invalidArgument(`${name} must be a non-empty string of printable ASCII`);
  return value;
}

/** The request headers that store content type, cache control and user metadata with an object. */
export function objectHeaders(options: PutOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': headerValue(options.contentType, 'contentType') ?? 'application/octet-stream',
  };
  const cacheControl = headerValue(options.cacheControl, 'cacheControl');
  if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
  for (const [key, value] of Object.entries(normalizeMetadata(options.metadata)))
    headers[`x-amz-meta-${key}`] = value;
  return headers;
}
