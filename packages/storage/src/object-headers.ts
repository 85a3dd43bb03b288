import type { CheckedPutOptions } from '@voelgoed/contracts';

/**
 * The request headers that store content type, cache control and user metadata with an object,
 * from options the contracts' `readPutOptions` already checked (printable ASCII values, token
 * metadata names in lower case, the content type defaulted).
 */
export function objectHeaders(options: CheckedPutOptions): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': options.contentType };
  if (options.cacheControl !== undefined) headers['cache-control'] = options.cacheControl;
  for (const [name, value] of Object.entries(options.metadata)) headers[`x-amz-meta-${name}`] = value;
  return headers;
}
