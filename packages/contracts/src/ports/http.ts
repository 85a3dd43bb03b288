import type { Readable } from 'node:stream';
import type { Resource } from './health.js';

export type HttpMethod = 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Retry policy of one request (the client's defaults apply to what is left out). */
export interface HttpRetryOptions {
  /** Retries after the first attempt (0 = none). */
  limit?: number;
  /** Methods that may be retried without an idempotency key (default GET, HEAD, OPTIONS, PUT, DELETE). */
  methods?: readonly HttpMethod[];
  /** Statuses that are retried (default 408, 425, 429, 500, 502, 503, 504). */
  statusCodes?: readonly number[];
  /** Largest wait between attempts in ms, Retry-After included. */
  maxDelayMs?: number;
}

export type HttpQuery = Readonly<
  Record<string, string | number | boolean | readonly (string | number | boolean)[] | undefined>
>;

/** One outbound request. `url` is absolute, or relative to the client's base URL. */
export interface HttpRequest {
  method?: HttpMethod;
  url: string;
  headers?: Readonly<Record<string, string | undefined>>;
  /** Added to the query already in `url`; `undefined` values are left out, arrays repeat the name. */
  query?: HttpQuery;
  /** Serialised as JSON with `content-type: application/json`. Exclusive with `body`. */
  json?: unknown;
  /** A raw body. A stream is sent as it comes (and is not retried once it has started). */
  body?: string | Uint8Array | Readable;
  /** Per-attempt timeout in ms (the client's default otherwise). */
  timeoutMs?: number;
  /** Overall deadline in ms across every attempt and wait. */
  deadlineMs?: number;
  /** `false` turns retries off; a number sets the retry limit. */
  retry?: HttpRetryOptions | number | false;
  /**
   * Sends an `Idempotency-Key` header, the same on every attempt, and lets POST/PATCH be retried.
   * `true` generates a random key.
   */
  idempotencyKey?: string | true;
  signal?: AbortSignal;
  /** Reject statuses >= 400 with `HttpStatusError` (default true). */
  throwHttpErrors?: boolean;
}

/** A response whose body has been read. */
export interface HttpResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
  /** The final URL. */
  url: string;
  /** How many attempts it took (1 = no retry). */
  attempts: number;
  text(): string;
  /** Parses the body as JSON; throws `InvalidArgumentError` when it is not JSON. */
  json<T = unknown>(): T;
}

/** A response whose body is still a stream: consume it or destroy it. */
export interface HttpStreamResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  url: string;
  attempts: number;
  body: Readable;
}

export type HttpRequestOptions = Omit<HttpRequest, 'url' | 'method'>;

/**
 * Outbound HTTP. Errors are `InfrastructureError`s: `TimeoutError`, `ConnectionError`,
 * `HttpStatusError`, `CircuitOpenError`, `RateLimitedError`, `AbortedError`, `InvalidArgumentError`
 * (malformed URL, bad options).
 */
export interface HttpClient extends Resource {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Like `request`, but resolves once headers arrive, with the body as a stream. */
  stream(request: HttpRequest): Promise<HttpStreamResponse>;
  get(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  post(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  put(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  patch(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
  delete(url: string, options?: HttpRequestOptions): Promise<HttpResponse>;
}
