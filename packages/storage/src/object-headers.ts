import {
  DEFAULT_OBJECT_CONTENT_TYPE,
  type PutOptions,
  readHeaderOption,
  readObjectMetadata,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';

// The rule for these options lives in the contracts (`readPutOptions` and its parts), shared
// with the memory driver; this module applies it with this package's message prefix.

/** User metadata checked and with lower-case keys. Values must be printable ASCII (HTTP headers). */
export function normalizeMetadata(metadata: PutOptions['metadata']): Record<string, string> {
  return readObjectMetadata(metadata, MESSAGE_PREFIX);
}

/** Checks a header-like option (content type, cache control): undefined, or non-empty printable ASCII. */
export function headerValue(value: unknown, name: string): string | undefined {
  return readHeaderOption(value, name, MESSAGE_PREFIX);
}

/** The request headers that store content type, cache control and user metadata with an object. */
export function objectHeaders(options: PutOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': headerValue(options.contentType, 'contentType') ?? DEFAULT_OBJECT_CONTENT_TYPE,
  };
  const cacheControl = headerValue(options.cacheControl, 'cacheControl');
  if (cacheControl !== undefined) headers['cache-control'] = cacheControl;
  for (const [key, value] of Object.entries(normalizeMetadata(options.metadata)))
    headers[`x-amz-meta-${key}`] = value;
  return headers;
}
