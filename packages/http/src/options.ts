import type { HttpMethod, HttpRequest, HttpRetryOptions, Logger } from '@voelgoed/contracts';
import {
  DEFAULT_RETRY_METHODS,
  DEFAULT_RETRY_STATUSES,
  fieldsOf,
  HTTP_METHODS,
  HTTP_RETRY_FIELDS,
  InvalidArgumentError,
  readLogger,
  readOptions,
  refuseUnknownFields,
  validate,
} from '@voelgoed/contracts';
import type { BulkheadOptions } from './bulkhead.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { MESSAGE_PREFIX } from './errors.js';
import { HEADER_NAME, type HeaderValue, headerName, mergeHeaders } from './headers.js';
import { type ProxyConfig, type ProxyOption, resolveProxy } from './proxy-config.js';
import { DEFAULT_SENSITIVE_HEADERS } from './redact.js';
import type { RetryBudgetOptions } from './retry-budget.js';
import type { TransportFactory } from './transport.js';

/** Client-wide retry policy: the port's options plus the backoff base. */
export interface ClientRetryOptions extends HttpRetryOptions {
  /** First backoff ceiling in ms; doubles per retry, full jitter (default 100). */
  baseDelayMs?: number;
}

/** The fields of {@link ClientRetryOptions}: any other is `INVALID_ARGUMENT`. */
const RETRY_FIELDS = fieldsOf<ClientRetryOptions>()([...HTTP_RETRY_FIELDS, 'baseDelayMs']);

/** Options of {@link createHttpClient}. Every one has a default. */
export interface HttpClientOptions {
  /** Prefix for relative request URLs: `baseUrl + '/' + url` (default none: URLs must be absolute). */
  baseUrl?: string;
  /**
   * Headers sent with every request (a request's own headers win). Numbers and booleans are sent
   * as text; values Node or undici would refuse are `INVALID_ARGUMENT` here, at creation.
   */
  headers?: Readonly<Record<string, HeaderValue | undefined>>;
  /** `'got'` (default), `'undici'` (needs the optional peer dependency) or your own factory. */
  transport?: 'got' | 'undici' | TransportFactory;
  /** Per-attempt timeout for the whole request, body included, ms (default 30 000). */
  timeoutMs?: number;
  /**
   * Per-attempt timeout until the response head arrives, ms (default: the attempt's `timeoutMs`,
   * a request's own when it sets one); set, it caps a request's longer `timeoutMs` too.
   */
  headersTimeoutMs?: number;
  /** Connect timeout (TCP and TLS), ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Overall deadline across every attempt and wait, ms (default none). */
  deadlineMs?: number;
  /** Retry policy, or `false` for none (default: 2 retries, idempotent methods, 408/425/429/500/502/503/504). */
  retry?: ClientRetryOptions | false;
  /** Client-wide retry budget, or `false` for none (default: ratio 0.2, minRetries 10, window 10 s). */
  retryBudget?: RetryBudgetOptions | false;
  /** Per-origin circuit breaker, or `false` for none (default on, see `CircuitBreakerOptions`). */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Per-origin concurrency limit, or `false` for none (default 64 in flight, 1024 queued). */
  bulkhead?: BulkheadOptions | false;
  /** Keep-alive sockets per origin (default 64). */
  maxSocketsPerOrigin?: number;
  /** Idle keep-alive socket lifetime, ms (default 4 000). */
  keepAliveMs?: number;
  /** Largest response body, after decompression, in bytes (default 10 MiB). */
  maxResponseBytes?: number;
  /** Send `accept-encoding` and decompress gzip/deflate/br responses (default true). */
  decompress?: boolean;
  /** Follow redirects (default false). Credentials are dropped on a change of origin or a downgrade to http. */
  followRedirects?: boolean;
  /** Redirects followed before `TooManyRedirectsError` (default 5). */
  maxRedirects?: number;
  /** Extra header names to treat as secrets (added to authorization, cookie, x-api-key, …). */
  sensitiveHeaders?: readonly string[];
  /** Header that carries the idempotency key (default `Idempotency-Key`). */
  idempotencyHeader?: string;
  /**
   * Called with every address the client is about to connect to (after DNS, so a rebinding
   * cannot slip through); `false` refuses it with `ForbiddenTargetError`. Default: all allowed.
   */
  addressFilter?: (address: string, family: 4 | 6) => boolean;
  /**
   * Outbound proxy: a URL (`http://user:pass@proxy.internal:3128`; http or https proxy, CONNECT
   * tunnels to every target), `{ url, noProxy }` with hosts that bypass it (a `NO_PROXY` list),
   * `'env'` to read `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (lower case first), or `false`.
   * Default: the environment only when `NODE_USE_ENV_PROXY=1`, as Node's own `fetch` does;
   * otherwise direct. `addressFilter` still judges the target (resolved here), not the proxy.
   */
  proxy?: ProxyOption;
  /**
   * Where to log circuit breaker transitions per origin: warn when one opens, info when it
   * half-opens or closes (default: nothing is logged). pino and `console` fit.
   */
  logger?: Logger;
}

/** The port's request plus what this client adds. */
export interface HttpClientRequest extends Omit<HttpRequest, 'retry' | 'headers'> {
  /** Request headers (they win over the client's); numbers and booleans are sent as text, `undefined` removes one. */
  headers?: Readonly<Record<string, HeaderValue | undefined>>;
  /** `false` turns retries off; a number sets the retry limit; an object overrides the client's policy. */
  retry?: ClientRetryOptions | number | false;
  /** A route template for telemetry (`/charges/:id`); never the real path. */
  route?: string;
  /** Overrides the client's `maxResponseBytes`. */
  maxResponseBytes?: number;
  /** Overrides the client's `followRedirects`. */
  followRedirects?: boolean;
}

export type HttpClientRequestOptions = Omit<HttpClientRequest, 'url' | 'method'>;

export interface ResolvedRetry {
  limit: number;
  methods: ReadonlySet<HttpMethod>;
  statusCodes: ReadonlySet<number>;
  maxDelayMs: number;
  baseDelayMs: number;
}

export interface ResolvedOptions {
  baseUrl: string | undefined;
  headers: Record<string, string>;
  transport: 'got' | 'undici' | TransportFactory;
  timeoutMs: number;
  /** Unset: each attempt's own `timeoutMs` (the request's when it has one). */
  headersTimeoutMs: number | undefined;
  connectTimeoutMs: number;
  deadlineMs: number | undefined;
  retry: ResolvedRetry;
  retryBudget: Required<RetryBudgetOptions> | undefined;
  circuitBreaker: Required<CircuitBreakerOptions> | undefined;
  bulkhead: Required<BulkheadOptions> | undefined;
  maxSocketsPerOrigin: number;
  keepAliveMs: number;
  maxResponseBytes: number;
  decompress: boolean;
  followRedirects: boolean;
  maxRedirects: number;
  sensitiveHeaders: ReadonlySet<string>;
  idempotencyHeader: string;
  addressFilter: ((address: string, family: 4 | 6) => boolean) | undefined;
  proxy: ProxyConfig | undefined;
  logger: Logger;
}

export const METHODS: ReadonlySet<HttpMethod> = new Set(HTTP_METHODS);

const P = MESSAGE_PREFIX;

/** Longest duration a Node timer holds, ms: a longer one fires at once (and would time out every attempt). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks a duration option: a positive finite number of ms a timer can hold. */
export function timerMs(value: unknown, what: string): asserts value is number {
  validate.positiveMs(value, what, P);
  if (value > MAX_TIMER_MS) {
    throw new InvalidArgumentError(`${P} ${what} must be at most ${MAX_TIMER_MS} ms (what a timer can hold)`);
  }
}

function ms(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  timerMs(value, what);
  return value;
}

function int(value: number | undefined, what: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  validate.integer(value, what, P, min);
  return value;
}

function bool(value: unknown, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${P} ${what} must be a boolean`);
  return value;
}

/** The fields of each policy object: any other (a misspelt `consecutiveFailure`) is refused. */
const CIRCUIT_BREAKER_FIELDS = fieldsOf<CircuitBreakerOptions>()([
  'consecutiveFailures',
  'failureRatio',
  'minimumCalls',
  'windowMs',
  'openMs',
  'halfOpenProbes',
]);
const BULKHEAD_FIELDS = fieldsOf<BulkheadOptions>()(['maxConcurrent', 'maxQueued']);
const RETRY_BUDGET_FIELDS = fieldsOf<RetryBudgetOptions>()(['ratio', 'minRetries', 'windowMs']);
const PROXY_FIELDS = fieldsOf<Exclude<ProxyOption, string | false>>()(['url', 'noProxy']);

/**
 * A policy's options: an object of `fields` only, `false` (off) or `undefined` (defaults). A
 * field it does not have is refused: it would otherwise be dropped and its default applied.
 */
function policy<T extends object>(
  value: T | false | undefined,
  fields: readonly (keyof T & string)[],
  what: string,
): T | false | undefined {
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${P} ${what} must be an object or false`);
  }
  // Each value is checked by the policy's resolver; here only which fields there are.
  return readOptions(value, fields, what, P) as T;
}

/**
 * Checks an array option element by element, holes included: a sparse array of 2^32 - 1 fails
 * at its first hole instead of walking four billion indices (as `every` would).
 */
function list<T>(value: readonly T[] | undefined, what: string, check: (item: unknown) => boolean): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${P} ${what}`);
  for (let i = 0; i < value.length; i++) {
    if (!check(value[i])) throw new InvalidArgumentError(`${P} ${what}`);
  }
}

/** Resolves a retry policy against defaults; `base` gives the client's values. */
export function resolveRetry(
  retry: HttpRetryOptions | ClientRetryOptions | number | false | undefined,
  base: ResolvedRetry | undefined,
): ResolvedRetry {
  const fallback: ResolvedRetry = base ?? {
    limit: 2,
    methods: new Set(DEFAULT_RETRY_METHODS),
    statusCodes: new Set(DEFAULT_RETRY_STATUSES),
    maxDelayMs: 30_000,
    baseDelayMs: 100,
  };
  if (retry === undefined) return fallback;
  if (retry === false) return { ...fallback, limit: 0 };
  if (typeof retry === 'number') return { ...fallback, limit: int(retry, 'retry', 0, 0) };
  if (typeof retry !== 'object' || retry === null) {
    throw new InvalidArgumentError(`${P} retry must be an object, a number or false`);
  }
  if (Array.isArray(retry)) throw new InvalidArgumentError(`${P} retry must be an object, a number or false`);
  refuseUnknownFields(retry, RETRY_FIELDS, 'retry', P);
  list(retry.methods, 'retry.methods must be an array of known methods', (m) => METHODS.has(m as HttpMethod));
  list(
    retry.statusCodes,
    'retry.statusCodes must be an array of statuses (integers 100-599)',
    (code) => Number.isInteger(code) && (code as number) >= 100 && (code as number) <= 599,
  );
  return {
    limit: int(retry.limit, 'retry.limit', fallback.limit, 0),
    methods: retry.methods ? new Set(retry.methods) : fallback.methods,
    statusCodes: retry.statusCodes ? new Set(retry.statusCodes) : fallback.statusCodes,
    maxDelayMs: ms(retry.maxDelayMs, 'retry.maxDelayMs', fallback.maxDelayMs),
    baseDelayMs: ms((retry as ClientRetryOptions).baseDelayMs, 'retry.baseDelayMs', fallback.baseDelayMs),
  };
}

/** Checks every option and fills in the defaults; bad values give `InvalidArgumentError`. */
/**
 * The fields of {@link HttpClientOptions}: any other is refused (got's `prefixUrl`, `timeout` or
 * `hooks` would otherwise be dropped for our defaults).
 */
const CLIENT_FIELDS = fieldsOf<HttpClientOptions>()([
  'baseUrl',
  'headers',
  'transport',
  'timeoutMs',
  'headersTimeoutMs',
  'connectTimeoutMs',
  'deadlineMs',
  'retry',
  'retryBudget',
  'circuitBreaker',
  'bulkhead',
  'maxSocketsPerOrigin',
  'keepAliveMs',
  'maxResponseBytes',
  'decompress',
  'followRedirects',
  'maxRedirects',
  'sensitiveHeaders',
  'idempotencyHeader',
  'addressFilter',
  'proxy',
  'logger',
]);

export function resolveOptions(options: HttpClientOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError(`${P} options must be an object`);
  }
  refuseUnknownFields(options, CLIENT_FIELDS, 'options', P);
  const baseUrl = resolveBaseUrl(options.baseUrl);
  const transport = options.transport ?? 'got';
  if (transport !== 'got' && transport !== 'undici' && typeof transport !== 'function') {
    throw new InvalidArgumentError(`${P} transport must be 'got', 'undici' or a factory`);
  }
  const headers: Record<string, string> = {};
  mergeHeaders(headers, options.headers, 'headers');
  if (options.addressFilter !== undefined && typeof options.addressFilter !== 'function') {
    throw new InvalidArgumentError(`${P} addressFilter must be a function (address, family) => boolean`);
  }
  list(options.sensitiveHeaders, 'sensitiveHeaders must be an array of header names', (name) => {
    return typeof name === 'string' && HEADER_NAME.test(name);
  });
  const timeoutMs = ms(options.timeoutMs, 'timeoutMs', 30_000);
  const cb = policy(options.circuitBreaker, CIRCUIT_BREAKER_FIELDS, 'circuitBreaker');
  const bh = policy(options.bulkhead, BULKHEAD_FIELDS, 'bulkhead');
  const rb = policy(options.retryBudget, RETRY_BUDGET_FIELDS, 'retryBudget');
  // `{ url, noProxy }`: a misspelt `noproxy` would send every host through the proxy.
  if (typeof options.proxy === 'object' && options.proxy !== null && !Array.isArray(options.proxy)) {
    refuseUnknownFields(options.proxy, PROXY_FIELDS, 'proxy', P);
  }
  return {
    baseUrl,
    headers,
    transport,
    timeoutMs,
    headersTimeoutMs:
      options.headersTimeoutMs === undefined
        ? undefined
        : ms(options.headersTimeoutMs, 'headersTimeoutMs', 0),
    connectTimeoutMs: ms(options.connectTimeoutMs, 'connectTimeoutMs', 10_000),
    deadlineMs: options.deadlineMs === undefined ? undefined : ms(options.deadlineMs, 'deadlineMs', 0),
    retry: resolveRetry(options.retry, undefined),
    retryBudget: rb === false ? undefined : resolveRetryBudget(rb),
    circuitBreaker: cb === false ? undefined : resolveCircuitBreaker(cb),
    bulkhead: bh === false ? undefined : resolveBulkhead(bh),
    maxSocketsPerOrigin: int(options.maxSocketsPerOrigin, 'maxSocketsPerOrigin', 64, 1),
    keepAliveMs: ms(options.keepAliveMs, 'keepAliveMs', 4_000),
    maxResponseBytes: int(options.maxResponseBytes, 'maxResponseBytes', 10 * 1024 * 1024, 0),
    decompress: bool(options.decompress, 'decompress', true),
    followRedirects: bool(options.followRedirects, 'followRedirects', false),
    maxRedirects: int(options.maxRedirects, 'maxRedirects', 5, 0),
    sensitiveHeaders: new Set([
      ...DEFAULT_SENSITIVE_HEADERS,
      ...(options.sensitiveHeaders ?? []).map((h) => h.toLowerCase()),
    ]),
    idempotencyHeader:
      options.idempotencyHeader === undefined
        ? 'idempotency-key'
        : headerName(options.idempotencyHeader, 'idempotencyHeader'),
    addressFilter: options.addressFilter,
    proxy: resolveProxy(options.proxy, P),
    logger: readLogger(options.logger, P),
  };
}

/** The base URL without its trailing slashes; it must be an absolute http(s) URL. */
function resolveBaseUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(`${P} baseUrl must be a string`);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError(`${P} baseUrl is not a valid absolute URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidArgumentError(`${P} baseUrl must be http or https`);
  }
  // Request paths are appended to the text: after a query or a fragment they would become part
  // of it (`/v1?token=abc/charges`), or be dropped from what is sent (`/v1#x/charges`).
  if (value.includes('?') || value.includes('#')) {
    throw new InvalidArgumentError(
      `${P} baseUrl must not have a query or a fragment (give a request's query in its query option)`,
    );
  }
  return value.replace(/\/+$/, '');
}

function resolveRetryBudget(rb: RetryBudgetOptions | undefined): Required<RetryBudgetOptions> {
  return {
    ratio: ratio(rb?.ratio, 'retryBudget.ratio', 0.2),
    minRetries: int(rb?.minRetries, 'retryBudget.minRetries', 10, 0),
    windowMs: ms(rb?.windowMs, 'retryBudget.windowMs', 10_000),
  };
}

function resolveCircuitBreaker(cb: CircuitBreakerOptions | undefined): Required<CircuitBreakerOptions> {
  return {
    consecutiveFailures: int(cb?.consecutiveFailures, 'circuitBreaker.consecutiveFailures', 5, 1),
    failureRatio: ratio(cb?.failureRatio, 'circuitBreaker.failureRatio', 0.5),
    minimumCalls: int(cb?.minimumCalls, 'circuitBreaker.minimumCalls', 20, 1),
    windowMs: ms(cb?.windowMs, 'circuitBreaker.windowMs', 10_000),
    openMs: ms(cb?.openMs, 'circuitBreaker.openMs', 10_000),
    halfOpenProbes: int(cb?.halfOpenProbes, 'circuitBreaker.halfOpenProbes', 1, 1),
  };
}

function resolveBulkhead(bh: BulkheadOptions | undefined): Required<BulkheadOptions> {
  return {
    maxConcurrent: int(bh?.maxConcurrent, 'bulkhead.maxConcurrent', 64, 1),
    maxQueued: int(bh?.maxQueued, 'bulkhead.maxQueued', 1024, 0),
  };
}

function ratio(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`${P} ${what} must be a number between 0 and 1`);
  }
  return value;
}
