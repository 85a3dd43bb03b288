import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  fieldsOf,
  HTTP_REQUEST_FIELDS,
  type HttpMethod,
  type HttpQuery,
  InvalidArgumentError,
  isInfrastructureError,
  refuseUnknownFields,
  validate,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX, safeCause } from './errors.js';
import { headerValue, mergeHeaders } from './headers.js';
import {
  type HttpClientRequest,
  METHODS,
  type ResolvedOptions,
  type ResolvedRetry,
  resolveRetry,
  timerMs,
} from './options.js';
import { redactUrl } from './redact.js';
import { guardStreamBody } from './request-body.js';

const P = MESSAGE_PREFIX;

/** A request checked and resolved against the client's options, ready for the policies. */
export interface PreparedRequest {
  method: HttpMethod;
  url: URL;
  origin: string;
  headers: Record<string, string>;
  body: string | Uint8Array | Readable | undefined;
  timeoutMs: number;
  headersTimeoutMs: number;
  deadlineMs: number | undefined;
  retry: ResolvedRetry;
  /** May be retried at all: idempotent method or an idempotency key, and no stream body. */
  retryable: boolean;
  /**
   * Safe to send again even if it ran (an idempotent method: GET, HEAD, OPTIONS, PUT, DELETE; or
   * an idempotency key): what a failed attempt's `retryable` says when it may have run.
   */
  repeatable: boolean;
  signal: AbortSignal | undefined;
  throwHttpErrors: boolean;
  maxResponseBytes: number;
  followRedirects: boolean;
  route: string | undefined;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

function resolveUrl(raw: unknown, baseUrl: string | undefined): URL {
  if (typeof raw !== 'string' || raw.length === 0)
    throw new InvalidArgumentError(`${P} url must be a non-empty string`);
  const text = ABSOLUTE.test(raw) || baseUrl === undefined ? raw : `${baseUrl}/${raw.replace(/^\/+/, '')}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(
      `${P} url is not a valid absolute URL${baseUrl === undefined && !ABSOLUTE.test(raw) ? ' (and no baseUrl is set)' : ''}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${P} url must be http or https, got ${url.protocol}`);
  }
  if (url.hostname === '') throw new InvalidArgumentError(`${P} url has no host`);
  return url;
}

function queryValue(value: unknown): string {
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint') return String(value);
  throw new InvalidArgumentError(`${P} query values must be strings, numbers, booleans or arrays of them`);
}

function appendQuery(url: URL, query: HttpQuery | undefined): void {
  if (query === undefined) return;
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new InvalidArgumentError(`${P} query must be an object`);
  }
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(name, queryValue(v));
    else url.searchParams.append(name, queryValue(value));
  }
}

/** The JSON text of a `json` body; a value JSON cannot carry is the caller's mistake. */
function serialise(json: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(json);
  } catch (error) {
    throw new InvalidArgumentError(
      `${P} json cannot be serialised (a circular reference, a BigInt or a throwing toJSON)`,
      { cause: safeCause(error) },
    );
  }
  if (text === undefined) throw new InvalidArgumentError(`${P} json must be a value JSON can carry`);
  return text;
}

/** The `user:password` of a URL's userinfo, percent-decoded. */
function credentials(url: URL): string {
  try {
    return `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  } catch {
    // The userinfo is never echoed: it holds a password.
    throw new InvalidArgumentError(`${P} url has malformed percent-encoding in its credentials`);
  }
}

/** `METHOD scheme://host/path` of a request, for messages (no userinfo, no query). */
export function describeRequest(p: PreparedRequest): string {
  return `${p.method} ${redactUrl(p.url)}`;
}

/**
 * Checks `request` and resolves it against the client's options. Only the caller's input is read
 * here, so whatever else throws (a getter, a Proxy trap, a revoked Proxy) is their mistake too:
 * `INVALID_ARGUMENT`, before any attempt.
 */
export function prepareRequest(
  request: HttpClientRequest,
  options: ResolvedOptions,
  defaultMethod: HttpMethod = 'GET',
): PreparedRequest {
  try {
    return prepare(request, options, defaultMethod);
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw new InvalidArgumentError(`${P} the request could not be read (a getter or a Proxy threw)`, {
      cause: safeCause(error),
    });
  }
}

/** An AbortSignal, brand included (a look-alike made from its prototype throws on `aborted`). */
function isSignal(value: unknown): value is AbortSignal {
  return value instanceof AbortSignal && typeof value.aborted === 'boolean';
}

/**
 * The steps of {@link prepareRequest}, in the order the caller's input is checked (a request
 * with several mistakes reports the first).
 */
function prepare(
  request: HttpClientRequest,
  options: ResolvedOptions,
  defaultMethod: HttpMethod,
): PreparedRequest {
  if (typeof request !== 'object' || request === null)
    throw new InvalidArgumentError(`${P} request must be an object`);
  // A misspelt or foreign option (got's searchParams, idempotencyKy) would be dropped in silence.
  refuseUnknownFields(request, REQUEST_FIELDS, 'request', P);
  const method = methodOf(request, defaultMethod);
  const url = resolveUrl(request.url, options.baseUrl);
  appendQuery(url, request.query);
  const headers = requestHeaders(request, options, url);
  const body = requestBody(request, method, headers);
  if (options.decompress) headers['accept-encoding'] ??= 'gzip, deflate, br';
  const hasKey = applyIdempotencyKey(request, options, headers);
  const repeatable = hasKey || (method !== 'POST' && method !== 'PATCH');

  const timeoutMs = request.timeoutMs ?? options.timeoutMs;
  timerMs(timeoutMs, 'timeoutMs');
  const deadlineMs = request.deadlineMs ?? options.deadlineMs;
  if (deadlineMs !== undefined) timerMs(deadlineMs, 'deadlineMs');
  const maxResponseBytes = request.maxResponseBytes ?? options.maxResponseBytes;
  validate.integer(maxResponseBytes, 'maxResponseBytes', P, 0);
  if (request.signal !== undefined && !isSignal(request.signal)) {
    throw new InvalidArgumentError(`${P} signal must be an AbortSignal`);
  }
  const retry = request.retry === undefined ? options.retry : resolveRetry(request.retry, options.retry);
  checkFlags(request);

  return {
    method,
    url,
    origin: url.origin,
    headers,
    body,
    timeoutMs,
    // Unset, the head may take the whole attempt (the request's own timeoutMs, when it has one);
    // set, it caps that.
    headersTimeoutMs: Math.min(timeoutMs, options.headersTimeoutMs ?? timeoutMs),
    deadlineMs,
    retry,
    // POST and PATCH are never retried without an idempotency key, whatever `retry.methods` says.
    retryable:
      retry.limit > 0 && !(body instanceof Readable) && repeatable && (hasKey || retry.methods.has(method)),
    repeatable,
    signal: request.signal,
    throwHttpErrors: request.throwHttpErrors ?? true,
    maxResponseBytes,
    followRedirects: request.followRedirects ?? options.followRedirects,
    route: request.route,
  };
}

/** The fields of {@link HttpClientRequest}: the port's and the client's own. */
const REQUEST_FIELDS = fieldsOf<HttpClientRequest>()([
  ...HTTP_REQUEST_FIELDS,
  'route',
  'maxResponseBytes',
  'followRedirects',
]);

/** The request's method, upper-cased (the client's method for `get()` and the like). */
function methodOf(request: HttpClientRequest, defaultMethod: HttpMethod): HttpMethod {
  const raw = request.method ?? defaultMethod;
  const method = (typeof raw === 'string' ? raw.toUpperCase() : raw) as HttpMethod;
  if (!METHODS.has(method)) throw new InvalidArgumentError(`${P} unknown method`);
  return method;
}

/**
 * The client's headers with the request's own over them. Userinfo in the URL becomes a Basic
 * Authorization header (unless one is set) and leaves the URL, so no URL carries it further.
 */
function requestHeaders(
  request: HttpClientRequest,
  options: ResolvedOptions,
  url: URL,
): Record<string, string> {
  const headers: Record<string, string> = { ...options.headers };
  mergeHeaders(headers, request.headers, 'request headers');
  if (url.username !== '' || url.password !== '') {
    const pair = credentials(url);
    headers.authorization ??= `Basic ${Buffer.from(pair).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return headers;
}

/** The body to send: `json` serialised (with its content type) or `body` checked; none on GET or HEAD. */
function requestBody(
  request: HttpClientRequest,
  method: HttpMethod,
  headers: Record<string, string>,
): PreparedRequest['body'] {
  let body: PreparedRequest['body'];
  if (request.json !== undefined) {
    if (request.body !== undefined) throw new InvalidArgumentError(`${P} json and body are exclusive`);
    body = serialise(request.json);
    headers['content-type'] ??= 'application/json';
  } else if (request.body !== undefined) {
    const b = request.body;
    if (typeof b !== 'string' && !(b instanceof Uint8Array) && !(b instanceof Readable)) {
      throw new InvalidArgumentError(`${P} body must be a string, a Uint8Array or a Readable`);
    }
    body = b instanceof Readable ? guardStreamBody(b) : b;
  }
  if ((method === 'GET' || method === 'HEAD') && body !== undefined) {
    throw new InvalidArgumentError(`${P} ${method} requests cannot have a body`);
  }
  checkContentLength(headers['content-length'], body);
  return body;
}

/**
 * A `content-length` (the client's or the request's) must be the length of a body whose length
 * is known (none, text, bytes, `json`): got would send the declared bytes and leave the rest on
 * the connection as the start of the next request, and undici fails only after connecting. A
 * stream's length is not known before it is read, so its declared length is the caller's word.
 */
function checkContentLength(declared: string | undefined, body: PreparedRequest['body']): void {
  if (declared === undefined || body instanceof Readable) return;
  const length =
    body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (Number(declared) !== length) {
    throw new InvalidArgumentError(
      `${P} header "content-length" (${declared.slice(0, 20)}) does not match the body's ${length} bytes`,
    );
  }
}

/** Sets the request's idempotency key header (`true`: a new UUID); whether the request carries a key. */
function applyIdempotencyKey(
  request: HttpClientRequest,
  options: ResolvedOptions,
  headers: Record<string, string>,
): boolean {
  if (request.idempotencyKey === undefined) return headers[options.idempotencyHeader] !== undefined;
  const key = request.idempotencyKey === true ? randomUUID() : request.idempotencyKey;
  validate.nonEmptyString(key, 'idempotencyKey', P);
  headers[options.idempotencyHeader] = headerValue(options.idempotencyHeader, key, 'idempotencyKey');
  return true;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NOT_IN_ROUTE = /[?#\u0000-\u001f\u007f]/;

/** Checks the request's boolean flags and route. */
function checkFlags(request: HttpClientRequest): void {
  for (const name of ['throwHttpErrors', 'followRedirects'] as const) {
    const flag = request[name];
    if (flag !== undefined && typeof flag !== 'boolean') {
      throw new InvalidArgumentError(`${P} ${name} must be a boolean`);
    }
  }
  if (request.route !== undefined && typeof request.route !== 'string') {
    throw new InvalidArgumentError(`${P} route must be a string`);
  }
  // The route is a label (metrics, url.template on spans): a query or fragment there would
  // publish the values the real URL carries (ids, tokens) and a series per value.
  if (request.route !== undefined && NOT_IN_ROUTE.test(request.route)) {
    throw new InvalidArgumentError(
      `${P} route is a template such as /charges/:id: no query, fragment or control characters`,
    );
  }
}
