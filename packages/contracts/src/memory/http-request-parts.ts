import { Readable } from 'node:stream';
import { MAX_DELAY_MS, readList, readSignal, refuseUnknownFields } from '../caller-input.js';
import { IntegrityError, InvalidArgumentError, isInfrastructureError } from '../errors.js';
import { HTTP_METHODS, HTTP_REQUEST_FIELDS, HTTP_RETRY_FIELDS } from '../http-defaults.js';
import type { HttpMethod, HttpQuery, HttpRequest, HttpRetryOptions } from '../ports/http.js';
import { validate } from '../validate.js';

/** A positive duration a Node timer can hold (a longer one fires at once), as `@voelgoed/http` checks it. */
function timerMs(value: unknown, what: string, prefix: string): asserts value is number {
  validate.positiveMs(value, what, prefix);
  if (value > MAX_DELAY_MS) {
    throw new InvalidArgumentError(
      `${prefix} ${what} must be at most ${MAX_DELAY_MS} ms (what a timer can hold)`,
    );
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: CR, LF and NUL would split or end a header
const UNSAFE_HEADER_VALUE = /[\r\n\u0000]/;

/** A request after its options were checked: everything the fake needs, in canonical form. */
export interface PreparedRequest {
  method: HttpMethod;
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
  /** A copy of the `json` option (parsed back from what is sent), or undefined. */
  json: unknown;
  /** The body was a stream: it cannot be sent twice. */
  streamed: boolean;
  timeoutMs: number;
  deadlineMs: number | undefined;
  retry: Required<HttpRetryOptions>;
  idempotent: boolean;
  /** Safe to send again even if it ran (not POST or PATCH, or an idempotency key): a timeout's `retryable`. */
  repeatable: boolean;
  signal: AbortSignal | undefined;
  throwHttpErrors: boolean;
}

/** Client-wide defaults. */
export interface RequestDefaults {
  /** Absolute http(s) URL without trailing slashes: a prefix of relative request URLs. */
  baseUrl: string | undefined;
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  retry: Required<HttpRetryOptions>;
  generateIdempotencyKey: () => string;
}

/**
 * Checks and canonicalises one request like a real client would, before anything is sent. Only
 * the caller's input is read here, so whatever else throws (a getter, a Proxy trap, a revoked
 * Proxy) is their mistake too: `InvalidArgumentError`.
 */
export async function prepareRequest(
  request: HttpRequest,
  defaults: RequestDefaults,
  prefix: string,
): Promise<PreparedRequest> {
  try {
    return await prepare(request, defaults, prefix);
  } catch (error) {
    if (isInfrastructureError(error)) throw error;
    throw new InvalidArgumentError(`${prefix} the request could not be read (a getter or a Proxy threw)`, {
      cause: error,
    });
  }
}

async function prepare(
  request: HttpRequest,
  defaults: RequestDefaults,
  prefix: string,
): Promise<PreparedRequest> {
  if (request === null || typeof request !== 'object') {
    throw new InvalidArgumentError(`${prefix} request must be an object`);
  }
  refuseUnknownFields(request, HTTP_REQUEST_FIELDS, 'request', prefix);
  const method = checkMethod(request.method ?? 'GET', prefix);
  const url = resolveUrl(request.url, defaults.baseUrl, prefix);
  if (request.query !== undefined) applyQuery(url, request.query, prefix);
  const headers = mergeHeaders(defaults.headers, request.headers, prefix);
  const rawBody = request.body;
  if (request.json !== undefined && rawBody !== undefined) {
    throw new InvalidArgumentError(`${prefix} give either json or body, not both`);
  }
  const jsonText = request.json === undefined ? undefined : serialiseJson(request.json, prefix);
  const body = jsonText === undefined ? await readBody(rawBody, prefix) : Buffer.from(jsonText, 'utf8');
  if (jsonText !== undefined) headers['content-type'] ??= 'application/json';
  const timeoutMs = request.timeoutMs ?? defaults.timeoutMs;
  timerMs(timeoutMs, 'timeoutMs', prefix);
  if (request.deadlineMs !== undefined) timerMs(request.deadlineMs, 'deadlineMs', prefix);
  const retry = resolveRetry(request.retry, defaults.retry, prefix);
  const idempotencyKey = resolveIdempotencyKey(request.idempotencyKey, defaults, prefix);
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  checkFlags(request, prefix);
  return {
    method,
    url,
    headers,
    body,
    json: jsonText === undefined ? undefined : JSON.parse(jsonText),
    streamed: jsonText === undefined && rawBody instanceof Readable,
    timeoutMs,
    deadlineMs: request.deadlineMs,
    retry,
    idempotent: retry.methods.includes(method) || idempotencyKey !== undefined,
    repeatable: (method !== 'POST' && method !== 'PATCH') || idempotencyKey !== undefined,
    signal: request.signal,
    throwHttpErrors: request.throwHttpErrors ?? true,
  };
}

/** The client's default headers overlaid with the request's (names lower-cased; undefined values skipped). */
function mergeHeaders(
  defaults: Readonly<Record<string, string>>,
  given: HttpRequest['headers'],
  prefix: string,
): Record<string, string> {
  const headers: Record<string, string> = { ...defaults };
  if (given === undefined) return headers;
  if (given === null || typeof given !== 'object') {
    throw new InvalidArgumentError(`${prefix} headers must be an object`);
  }
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    checkHeader(name, value, prefix);
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

/** The JSON text of the `json` option (what is sent; the request's `json` is parsed back from it). */
function serialiseJson(json: unknown, prefix: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(json);
  } catch (error) {
    throw new InvalidArgumentError(`${prefix} json cannot be serialised`, { cause: error });
  }
  if (text === undefined) throw new InvalidArgumentError(`${prefix} json cannot be serialised`);
  return text;
}

/** The bytes of a request body (a copy): none, a string, a Uint8Array or a Readable read to its end. */
async function readBody(body: HttpRequest['body'], prefix: string): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (!(body instanceof Readable)) {
    throw new InvalidArgumentError(`${prefix} body must be a string, Uint8Array or Readable`);
  }
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) {
      // An object-mode stream may carry bytes (`Readable.from([buffer])`), but nothing else.
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw new TypeError('not bytes');
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    }
  } catch (error) {
    // The caller's stream failed (as @voelgoed/http says it): not the remote side's doing.
    throw new IntegrityError(`${prefix} the request body stream failed`, { cause: error });
  }
  return Buffer.concat(chunks);
}

/** The idempotency key to send: a generated one for `true`, the given non-empty string, or none. */
function resolveIdempotencyKey(
  given: HttpRequest['idempotencyKey'],
  defaults: RequestDefaults,
  prefix: string,
): string | undefined {
  if (given === undefined) return undefined;
  if (given !== true && (typeof given !== 'string' || given.length === 0)) {
    throw new InvalidArgumentError(`${prefix} idempotencyKey must be true or a non-empty string`);
  }
  const key = given === true ? defaults.generateIdempotencyKey() : given;
  checkHeader('idempotency-key', key, prefix);
  return key;
}

/** Checks `signal` (a real AbortSignal) and `throwHttpErrors` (a boolean), when given. */
function checkFlags(request: HttpRequest, prefix: string): void {
  readSignal(request.signal, prefix);
  if (request.throwHttpErrors !== undefined && typeof request.throwHttpErrors !== 'boolean') {
    throw new InvalidArgumentError(`${prefix} throwHttpErrors must be a boolean`);
  }
}

/** Checks client-wide retry options (a number is the limit; `false` is no retries). */
export function resolveRetry(
  retry: HttpRetryOptions | number | false | undefined,
  defaults: Required<HttpRetryOptions>,
  prefix: string,
): Required<HttpRetryOptions> {
  if (retry === undefined) return defaults;
  if (retry === false) return { ...defaults, limit: 0 };
  if (typeof retry === 'number') {
    validate.integer(retry, 'retry limit', prefix, 0);
    return { ...defaults, limit: retry };
  }
  if (retry === null || typeof retry !== 'object') {
    throw new InvalidArgumentError(`${prefix} retry must be false, a number or an object`);
  }
  refuseUnknownFields(retry, HTTP_RETRY_FIELDS, 'retry', prefix);
  const out = { ...defaults };
  if (retry.limit !== undefined) {
    validate.integer(retry.limit, 'retry.limit', prefix, 0);
    out.limit = retry.limit;
  }
  if (retry.methods !== undefined) {
    // Element by element: a sparse array of 2^32 - 1 fails at its first hole.
    out.methods = readList(retry.methods, 'retry.methods', prefix, (m) => checkMethod(m, prefix));
  }
  if (retry.statusCodes !== undefined) {
    if (!Array.isArray(retry.statusCodes)) {
      throw new InvalidArgumentError(`${prefix} retry.statusCodes must be an array`);
    }
    for (const code of retry.statusCodes) validate.integer(code, 'retry status code', prefix, 100);
    out.statusCodes = [...retry.statusCodes];
  }
  if (retry.maxDelayMs !== undefined) {
    validate.integer(retry.maxDelayMs, 'retry.maxDelayMs', prefix, 0);
    out.maxDelayMs = retry.maxDelayMs;
  }
  return out;
}

/** Checks a base URL (absolute http/https) and returns it without trailing slashes. */
export function parseBaseUrl(value: unknown, prefix: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${prefix} baseUrl must be a non-empty string`);
  }
  resolveUrl(value, undefined, prefix);
  return value.replace(/\/+$/, '');
}

function checkMethod(value: unknown, prefix: string): HttpMethod {
  const upper = typeof value === 'string' ? value.toUpperCase() : '';
  if (!(HTTP_METHODS as readonly string[]).includes(upper)) {
    throw new InvalidArgumentError(`${prefix} method must be one of ${HTTP_METHODS.join(', ')}`);
  }
  return upper as HttpMethod;
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/i;

/**
 * A relative URL is appended to the base URL as a prefix (`baseUrl + '/' + url`, slashes
 * folded), as `@voelgoed/http` does: with `https://api.example.com/v1`, `/things` is
 * `https://api.example.com/v1/things`.
 */
function resolveUrl(value: unknown, base: string | undefined, prefix: string): URL {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${prefix} url must be a non-empty string`);
  }
  const text = ABSOLUTE.test(value) || base === undefined ? value : `${base}/${value.replace(/^\/+/, '')}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    // The URL is not echoed: it may carry a token in its query string.
    throw new InvalidArgumentError(
      `${prefix} malformed URL${base ? '' : ' (relative URL without a baseUrl?)'}`,
      {
        cause: error,
      },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${prefix} URL scheme must be http or https`);
  }
  if (url.hostname === '') throw new InvalidArgumentError(`${prefix} URL has no host`);
  return url;
}

function applyQuery(url: URL, query: HttpQuery, prefix: string): void {
  if (query === null || typeof query !== 'object') {
    throw new InvalidArgumentError(`${prefix} query must be an object`);
  }
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) url.searchParams.append(name, queryValue(item, prefix));
  }
}

function queryValue(value: unknown, prefix: string): string {
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new InvalidArgumentError(`${prefix} query values must be strings, booleans or finite numbers`);
}

function checkHeader(name: string, value: unknown, prefix: string): void {
  if (!TOKEN.test(name)) throw new InvalidArgumentError(`${prefix} header names must be HTTP tokens`);
  if (typeof value !== 'string' || UNSAFE_HEADER_VALUE.test(value)) {
    throw new InvalidArgumentError(`${prefix} header values must be strings without CR, LF or NUL`);
  }
}
