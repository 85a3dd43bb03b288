import { fieldsOf } from './caller-input.js';
import type { HttpMethod, HttpRequest, HttpRetryOptions } from './ports/http.js';

/** The fields of the port's `HttpRequest`: any other (got's `searchParams`, a typo) is refused. */
export const HTTP_REQUEST_FIELDS = fieldsOf<HttpRequest>()([
  'method',
  'url',
  'headers',
  'query',
  'json',
  'body',
  'timeoutMs',
  'deadlineMs',
  'retry',
  'idempotencyKey',
  'signal',
  'throwHttpErrors',
]);

/** The fields of the port's `HttpRetryOptions`. */
export const HTTP_RETRY_FIELDS = fieldsOf<HttpRetryOptions>()([
  'limit',
  'methods',
  'statusCodes',
  'maxDelayMs',
]);

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
