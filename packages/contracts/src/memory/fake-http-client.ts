import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortedError,
  ConnectionError,
  errorCodeOf,
  HttpStatusError,
  InvalidArgumentError,
  isInfrastructureError,
  TimeoutError,
} from '../errors.js';
import { Channels, createPublisher } from '../events.js';
import { inMemoryHealth } from '../health-report.js';
import { DEFAULT_RETRY_METHODS, DEFAULT_RETRY_STATUSES } from '../http-defaults.js';
import type { HealthReport } from '../ports/health.js';
import type {
  HttpClient,
  HttpMethod,
  HttpRequest,
  HttpRequestOptions,
  HttpResponse,
  HttpRetryOptions,
  HttpStreamResponse,
} from '../ports/http.js';
import { validate } from '../validate.js';
import {
  type PreparedRequest,
  parseBaseUrl,
  prepareRequest,
  type RequestDefaults,
  resolveRetry,
} from './http-request-parts.js';

const PREFIX = '[voelgoed:contracts] FakeHttpClient:';
const requestPublisher = createPublisher(Channels.httpRequest);
const retryPublisher = createPublisher(Channels.httpRetry);

/** One attempt as the fake "server" sees it (also what {@link FakeHttpClient.requests} records). */
export interface FakeHttpRequest {
  method: HttpMethod;
  /** The absolute URL, base URL resolved and query applied. */
  url: string;
  /** The URL's path (`/v1/things`). */
  path: string;
  /** The query string; a repeated name gives an array. */
  query: Readonly<Record<string, string | string[]>>;
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
  /** The bytes sent (empty when none). */
  body: Buffer;
  /** A copy of the `json` option, when one was given. */
  json: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when this attempt is over (timed out, aborted by the caller, or answered). */
  signal: AbortSignal;
}

/** A scripted response. */
export interface FakeHttpResponseInit {
  /** Default 200. */
  status?: number;
  headers?: Readonly<Record<string, string | readonly string[]>>;
  /** Sent as JSON with `content-type: application/json`. Exclusive with `body`. */
  json?: unknown;
  body?: string | Uint8Array;
  /** Answer only after this many ms (real time), so that timeouts can be tested. */
  delayMs?: number;
}

/** Answers requests that the queue does not. Throwing simulates a network failure (`ConnectionError`). */
export type FakeHttpHandler = (
  request: FakeHttpRequest,
) => FakeHttpResponseInit | Promise<FakeHttpResponseInit>;

/** Options of {@link FakeHttpClient}. */
export interface FakeHttpClientOptions {
  /** Prefix of relative request URLs, `baseUrl + '/' + url` as in `@voelgoed/http` (absolute http/https URL). */
  baseUrl?: string;
  /** Answers every request the queue does not answer. */
  handler?: FakeHttpHandler;
  /** Headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
  /** Per-attempt timeout in ms (default 30000). */
  timeoutMs?: number;
  /** Default retry policy (default: limit 2, the port's default methods and statuses, maxDelayMs 30000). */
  retry?: HttpRetryOptions | number | false;
  /**
   * Waits between attempts, given the delay the real client would wait (Retry-After, else
   * 100 ms doubling). Default: no waiting at all, so retries cost tests nothing.
   */
  sleep?: (ms: number) => Promise<void>;
  /** Makes the key for `idempotencyKey: true` (default `randomUUID()`). */
  generateIdempotencyKey?: () => string;
}

type Scripted = { kind: 'response'; init: FakeHttpResponseInit } | { kind: 'error'; error: unknown };

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A scriptable `HttpClient` for tests: answers from a queue of scripted responses (or errors)
 * and then from a handler function, and records every attempt in {@link requests}. It applies
 * the same policies as the real client: URL and option checks (`InvalidArgumentError`),
 * `HttpStatusError` for statuses >= 400, `Idempotency-Key` (the same on every attempt),
 * retries of retryable statuses and errors for idempotent requests, per-attempt timeouts
 * (`TimeoutError`), deadlines and `AbortSignal` (`AbortedError`). Retries do not wait unless a
 * `sleep` is given.
 */
export class FakeHttpClient implements HttpClient {
  /** Every attempt, in order. */
  readonly requests: FakeHttpRequest[] = [];
  readonly #queue: Scripted[] = [];
  readonly #handler: FakeHttpHandler | undefined;
  readonly #defaults: RequestDefaults;
  readonly #sleep: (ms: number) => Promise<void>;

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return inMemoryHealth('http', this.#closed);
  }

  /** Marks it closed: `health()` reports `down` from then on. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  constructor(options: FakeHttpClientOptions = {}) {
    if (options.handler !== undefined && typeof options.handler !== 'function') {
      throw new InvalidArgumentError(`${PREFIX} handler must be a function`);
    }
    const timeoutMs = options.timeoutMs ?? 30_000;
    validate.positiveMs(timeoutMs, 'timeoutMs', PREFIX);
    const baseRetry: Required<HttpRetryOptions> = {
      limit: 2,
      methods: DEFAULT_RETRY_METHODS,
      statusCodes: DEFAULT_RETRY_STATUSES,
      maxDelayMs: 30_000,
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    this.#handler = options.handler;
    this.#sleep = options.sleep ?? (() => new Promise((resolve) => setImmediate(resolve)));
    this.#defaults = {
      baseUrl: options.baseUrl === undefined ? undefined : parseBaseUrl(options.baseUrl, PREFIX),
      headers,
      timeoutMs,
      retry: resolveRetry(options.retry, baseRetry, PREFIX),
      generateIdempotencyKey: options.generateIdempotencyKey ?? randomUUID,
    };
  }

  /** Queues responses, answered in order (one per attempt) before the handler is asked. */
  enqueue(...responses: FakeHttpResponseInit[]): this {
    for (const init of responses) this.#queue.push({ kind: 'response', init });
    return this;
  }

  /**
   * Queues a failure for one attempt. An `InfrastructureError` is thrown as it is (a retryable
   * one is retried like the real client would); anything else becomes a retryable `ConnectionError`.
   */
  enqueueError(error: unknown): this {
    this.#queue.push({ kind: 'error', error });
    return this;
  }

  /** How many scripted responses and errors are still queued. */
  get pendingResponses(): number {
    return this.#queue.length;
  }

  /** The last attempt made, if any. */
  get lastRequest(): FakeHttpRequest | undefined {
    return this.requests[this.requests.length - 1];
  }

  /** Forgets the queue and the recorded requests. */
  reset(): void {
    this.#queue.length = 0;
    this.requests.length = 0;
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    const prepared = await prepareRequest(request, this.#defaults, PREFIX);
    const { raw, attempts } = await this.#execute(prepared);
    const url = prepared.url.href;
    return {
      status: raw.status,
      headers: raw.headers,
      body: raw.body,
      url,
      attempts,
      text: () => raw.body.toString('utf8'),
      json: <T>() => {
        try {
          return JSON.parse(raw.body.toString('utf8')) as T;
        } catch (error) {
          throw new InvalidArgumentError(`${PREFIX} the response body is not JSON`, { cause: error });
        }
      },
    };
  }

  async stream(request: HttpRequest): Promise<HttpStreamResponse> {
    const prepared = await prepareRequest(request, this.#defaults, PREFIX);
    const { raw, attempts } = await this.#execute(prepared);
    return {
      status: raw.status,
      headers: raw.headers,
      url: prepared.url.href,
      attempts,
      body: Readable.from(raw.body.length === 0 ? [] : [raw.body]),
    };
  }

  get(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: 'GET', url });
  }

  post(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: 'POST', url });
  }

  put(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: 'PUT', url });
  }

  patch(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: 'PATCH', url });
  }

  delete(url: string, options?: HttpRequestOptions): Promise<HttpResponse> {
    return this.request({ ...options, method: 'DELETE', url });
  }

  async #execute(prepared: PreparedRequest): Promise<{ raw: RawResponse; attempts: number }> {
    const { signal } = prepared;
    const origin = prepared.url.origin;
    const deadlineAt =
      prepared.deadlineMs === undefined ? undefined : performance.now() + prepared.deadlineMs;
    const maxAttempts = prepared.streamed || !prepared.idempotent ? 1 : prepared.retry.limit + 1;
    for (let attempt = 1; ; attempt += 1) {
      if (signal?.aborted) throw aborted(signal);
      const remaining = deadlineAt === undefined ? Number.POSITIVE_INFINITY : deadlineAt - performance.now();
      if (remaining <= 0)
        throw new TimeoutError(`${PREFIX} ${prepared.method} ${origin} passed its deadline`);
      const started = performance.now();
      let raw: RawResponse;
      try {
        raw = await this.#attempt(prepared, attempt, Math.min(prepared.timeoutMs, remaining));
      } catch (error) {
        const code = errorCodeOf(error);
        requestPublisher.publishLazy(() => ({
          method: prepared.method,
          origin,
          durationMs: performance.now() - started,
          attempt,
          outcome: 'error',
          errorCode: code,
        }));
        const retryable = isInfrastructureError(error) && error.retryable && code !== 'ABORTED';
        if (!retryable || attempt >= maxAttempts) throw error;
        await this.#wait(prepared, attempt, backoff(attempt, prepared.retry.maxDelayMs), code, deadlineAt);
        continue;
      }
      requestPublisher.publishLazy(() => ({
        method: prepared.method,
        origin,
        status: raw.status,
        durationMs: performance.now() - started,
        attempt,
        outcome: raw.status >= 400 ? 'error' : 'ok',
        ...(raw.status >= 400 ? { errorCode: 'HTTP_STATUS' } : {}),
      }));
      if (prepared.retry.statusCodes.includes(raw.status) && attempt < maxAttempts) {
        const retryAfter = parseRetryAfter(raw.headers['retry-after']);
        const delay = Math.min(
          retryAfter ?? backoff(attempt, prepared.retry.maxDelayMs),
          prepared.retry.maxDelayMs,
        );
        await this.#wait(prepared, attempt, delay, String(raw.status), deadlineAt);
        continue;
      }
      if (raw.status >= 400 && prepared.throwHttpErrors) {
        throw new HttpStatusError(
          `${PREFIX} ${prepared.method} ${origin}${prepared.url.pathname} answered ${raw.status}`,
          { status: raw.status, headers: raw.headers, body: raw.body },
          { repeatable: prepared.repeatable },
        );
      }
      return { raw, attempts: attempt };
    }
  }

  async #wait(
    prepared: PreparedRequest,
    attempt: number,
    delayMs: number,
    reason: string,
    deadlineAt: number | undefined,
  ): Promise<void> {
    retryPublisher.publishLazy(() => ({
      method: prepared.method,
      origin: prepared.url.origin,
      attempt: attempt + 1,
      delayMs,
      reason,
    }));
    if (deadlineAt !== undefined && performance.now() + delayMs >= deadlineAt) {
      throw new TimeoutError(`${PREFIX} ${prepared.method} ${prepared.url.origin} would pass its deadline`);
    }
    const { signal } = prepared;
    if (!signal) return this.#sleep(delayMs);
    if (signal.aborted) throw aborted(signal);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(aborted(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#sleep(delayMs).then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  #attempt(prepared: PreparedRequest, attempt: number, timeoutMs: number): Promise<RawResponse> {
    const controller = new AbortController();
    const query: Record<string, string | string[]> = {};
    for (const name of new Set(prepared.url.searchParams.keys())) {
      const all = prepared.url.searchParams.getAll(name);
      const only = all.length === 1 ? all[0] : undefined;
      query[name] = only ?? all;
    }
    const recorded: FakeHttpRequest = {
      method: prepared.method,
      url: prepared.url.href,
      path: prepared.url.pathname,
      query,
      headers: { ...prepared.headers },
      body: Buffer.from(prepared.body),
      json: prepared.json === undefined ? undefined : structuredClone(prepared.json),
      attempt,
      signal: controller.signal,
    };
    this.requests.push(recorded);
    const callerSignal = prepared.signal;
    return new Promise<RawResponse>((resolve, reject) => {
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        callerSignal?.removeEventListener('abort', onAbort);
        controller.abort();
        settle();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new TimeoutError(
                `${PREFIX} ${prepared.method} ${prepared.url.origin} took longer than ${Math.round(timeoutMs)} ms`,
                // It may have run: a retry is safe only for a request that may be repeated.
                { maybeExecuted: true, retryable: prepared.repeatable },
              ),
            ),
          ),
        timeoutMs,
      );
      // Listened to only when there is a caller signal.
      const onAbort = () => {
        if (callerSignal) finish(() => reject(aborted(callerSignal)));
      };
      callerSignal?.addEventListener('abort', onAbort, { once: true });
      this.#answer(recorded).then(
        (raw) => finish(() => resolve(prepared.method === 'HEAD' ? { ...raw, body: Buffer.alloc(0) } : raw)),
        (error: unknown) => finish(() => reject(toInfrastructureError(error))),
      );
    });
  }

  async #answer(request: FakeHttpRequest): Promise<RawResponse> {
    const next = this.#queue.shift();
    if (next?.kind === 'error') throw next.error;
    let init: FakeHttpResponseInit;
    if (next) init = next.init;
    else if (this.#handler) init = await this.#handler(request);
    else {
      throw new ConnectionError(
        `${PREFIX} no response queued and no handler for ${request.method} ${new URL(request.url).origin}`,
        { retryable: false },
      );
    }
    const raw = toRawResponse(init);
    if (init.delayMs !== undefined && init.delayMs > 0) await delay(init.delayMs, request.signal);
    return raw;
  }
}

function toRawResponse(init: FakeHttpResponseInit): RawResponse {
  if (init === null || typeof init !== 'object') {
    throw new InvalidArgumentError(`${PREFIX} a scripted response must be an object`);
  }
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new InvalidArgumentError(`${PREFIX} a scripted status must be an integer 100..599`);
  }
  if (init.json !== undefined && init.body !== undefined) {
    throw new InvalidArgumentError(`${PREFIX} a scripted response has either json or body, not both`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  let body = Buffer.alloc(0);
  if (init.json !== undefined) {
    body = Buffer.from(JSON.stringify(init.json), 'utf8');
    headers['content-type'] ??= 'application/json';
  } else if (typeof init.body === 'string') body = Buffer.from(init.body, 'utf8');
  else if (init.body instanceof Uint8Array) body = Buffer.from(init.body);
  return { status, headers, body };
}

function toInfrastructureError(error: unknown): Error {
  if (isInfrastructureError(error)) return error;
  return new ConnectionError(`${PREFIX} the request failed`, { cause: error, retryable: true });
}

function aborted(signal: AbortSignal): AbortedError {
  return new AbortedError(`${PREFIX} the request was aborted`, { cause: signal.reason });
}

function backoff(attempt: number, maxDelayMs: number): number {
  return Math.min(100 * 2 ** (attempt - 1), maxDelayMs);
}

/** Retry-After in seconds or as an HTTP date, in ms; undefined when absent or unreadable. */
function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
