import type { HttpMethod } from './ports/http.js';

/** Methods of the `HttpClient` port. */
export const HTTP_METHODS: readonly HttpMethod[] = [
  'GET',
  'HEAD',
  'OPTIONS',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
];
/** Methods an `HttpClient` retries without an idempotency key, by default. */
export const DEFAULT_RETRY_METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];
/** Statuses an `HttpClient` retries by default. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = [408, 425, 429, 500, 502, 503, 504];
