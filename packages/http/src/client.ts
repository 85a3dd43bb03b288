import { Readable } from 'node:stream';
import {
  AbortedError,
  Channels,
  ConnectionError,
  closedHealth,
  createPublisher,
  errorCodeOf,
  type HealthReport,
  type HttpAttemptTrace,
  type HttpClient,
  type HttpMethod,
  type HttpResponse,
  HttpStatusError,
  type HttpStreamResponse,
  isInfrastructureError,
  TraceChannels,
  traceChannel,
  traced,
} from '@voelgoed/contracts';
import { checkLiteralHost, filteredLookup } from './address-filter.js';
import { Attempt } from './attempt.js';
import { fullJitterDelay, parseRetryAfter } from './backoff.js';
import { decodeBody, discard, failedEarly, limitBody, type ReadAbort, readBody } from './body.js';
import { Bulkhead } from './bulkhead.js';
import { CircuitBreaker, type CircuitState, type CircuitTicket } from './circuit-breaker.js';
import { HttpTimeoutError, MESSAGE_PREFIX, safeCause, TooManyRedirectsError } from './errors.js';
import { createGotTransport } from './got-transport.js';
import {
  type HttpClientOptions,
  type HttpClientRequest,
  type HttpClientRequestOptions,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { describeRequest, type PreparedRequest, prepareRequest } from './prepare.js';
import { redactHeaders, redactUrl } from './redact.js';
import { callerStalled } from './request-body.js';
import { BufferedResponse } from './response.js';
import { RetryBudget } from './retry-budget.js';
import { RequestScope } from './scope.js';
import type { BufferedTransportResponse, Transport, TransportResponse } from './transport.js';
import { maybeSent, truthful } from './transport-errors.js';
import { createUndiciTransport } from './undici-transport.js';

const P = MESSAGE_PREFIX;
const requestEvents = createPublisher(Channels.httpRequest);
const retryEvents = createPublisher(Channels.httpRetry);
/** One trace per attempt (nothing is built when nobody subscribes). */
const attemptTrace = traceChannel(TraceChannels.httpAttempt);

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ERROR_EXCERPT_BYTES = 4096;

/** The client {@link createHttpClient} returns: the contracts' `HttpClient` and a few extras. */
export interface ResilientHttpClient extends HttpClient {
  request(request: HttpClientRequest): Promise<HttpResponse>;
  stream(request: HttpClientRequest): Promise<HttpStreamResponse>;
  get(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse>;
  post(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse>;
  put(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse>;
  patch(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse>;
  delete(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse>;
  /** The transport's name: `got`, `undici`, or a custom one. */
  readonly transport: string;
  /** The breaker state of an origin (`closed` when it has none yet). */
  circuitState(origin: string): CircuitState;
  /** Closes pooled connections; requests after it fail. */
  close(): Promise<void>;
}

/** One origin's bulkhead and circuit breaker (each `undefined` when turned off). */
interface OriginPolicies {
  origin: string;
  bulkhead: Bulkhead | undefined;
  breaker: CircuitBreaker | undefined;
}

/** What one attempt produced: a response with its body read, or (stream mode) still streaming. */
type AttemptResult = {
  status: number;
  headers: Record<string, string>;
  url: URL;
} & ({ bytes: Buffer; stream: undefined } | { bytes: undefined; stream: Readable });

/**
 * Creates an HTTP client: got transport by default (`transport: 'undici'` for undici), with the
 * policies outside in: bulkhead → overall deadline → retry (budgeted) → circuit breaker →
 * per-attempt timeout → transport.
 */
export function createHttpClient(options: HttpClientOptions = {}): ResilientHttpClient {
  return new Client(resolveOptions(options));
}

class Client implements ResilientHttpClient {
  readonly #options: ResolvedOptions;
  readonly #transport: Transport;
  readonly #budget: RetryBudget | undefined;
  /** Per-origin bulkhead and breaker, made on first use. */
  readonly #origins = new Map<string, OriginPolicies>();
  #lastPolicies: OriginPolicies | undefined;
  #closed = false;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    const settings = {
      connectTimeoutMs: options.connectTimeoutMs,
      maxSocketsPerOrigin: options.maxSocketsPerOrigin,
      keepAliveMs: options.keepAliveMs,
      lookup: options.addressFilter ? filteredLookup(options.addressFilter) : undefined,
      proxy: options.proxy,
    };
    const factory =
      options.transport === 'got'
        ? createGotTransport
        : options.transport === 'undici'
          ? createUndiciTransport
          : options.transport;
    this.#transport = factory(settings);
    this.#budget = options.retryBudget ? new RetryBudget(options.retryBudget) : undefined;
  }

  get transport(): string {
    return this.#transport.name;
  }

  request(request: HttpClientRequest): Promise<HttpResponse> {
    return this.#run(request, undefined, false) as Promise<HttpResponse>;
  }

  stream(request: HttpClientRequest): Promise<HttpStreamResponse> {
    return this.#run(request, undefined, true) as Promise<HttpStreamResponse>;
  }

  get(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse> {
    return this.#run({ ...options, url, method: 'GET' }, 'GET', false) as Promise<HttpResponse>;
  }
  post(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse> {
    return this.#run({ ...options, url, method: 'POST' }, 'POST', false) as Promise<HttpResponse>;
  }
  put(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse> {
    return this.#run({ ...options, url, method: 'PUT' }, 'PUT', false) as Promise<HttpResponse>;
  }
  patch(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse> {
    return this.#run({ ...options, url, method: 'PATCH' }, 'PATCH', false) as Promise<HttpResponse>;
  }
  delete(url: string, options?: HttpClientRequestOptions): Promise<HttpResponse> {
    return this.#run({ ...options, url, method: 'DELETE' }, 'DELETE', false) as Promise<HttpResponse>;
  }

  circuitState(origin: string): CircuitState {
    return this.#origins.get(origin)?.breaker?.state ?? 'closed';
  }

  /**
   * From the breakers' states, with no remote call: `up` when every breaker is closed, `degraded`
   * when one is open or half-open (`details.circuits`: origin → state, for those not closed),
   * `down` after {@link close}.
   */
  async health(): Promise<HealthReport> {
    if (this.#closed) return closedHealth('http');
    const circuits: Record<string, CircuitState> = {};
    for (const { origin, breaker } of this.#origins.values()) {
      const state = breaker?.state ?? 'closed';
      if (state !== 'closed') circuits[origin] = state;
    }
    const open = Object.keys(circuits);
    return {
      status: open.length === 0 ? 'up' : 'degraded',
      resource: 'http',
      latencyMs: 0,
      ...(open.length === 0
        ? {}
        : { error: { code: 'CIRCUIT_OPEN', message: `circuit not closed for ${open.length} origin(s)` } }),
      details: { origins: this.#origins.size, circuits },
    };
  }

  /** Closes pooled connections; requests after it fail. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#transport.close().catch(() => undefined);
    return this.#closing;
  }

  #closing: Promise<void> | undefined;

  async #run(
    request: HttpClientRequest,
    method: HttpMethod | undefined,
    stream: boolean,
  ): Promise<HttpResponse | HttpStreamResponse> {
    const p = prepareRequest(request, this.#options, method);
    if (this.#closed)
      throw new ConnectionError(`${P} ${describeRequest(p)}: the client is closed`, { retryable: false });
    if (p.signal?.aborted) throw aborted(p);

    const policies = this.#policies(p.origin);
    // Bulkhead (outermost).
    const bulkhead = policies.bulkhead;
    if (bulkhead && !bulkhead.tryAcquire()) await bulkhead.acquire(p.signal, () => aborted(p));
    // Overall deadline and the caller's signal (each attempt times the deadline; a stream's
    // deadline also runs on past its last attempt, until the head is handed over).
    const scope = new RequestScope(p, aborted, deadlineError, stream);
    let handedOver = false;
    try {
      const result = await this.#retrying(p, scope, stream, policies.breaker);
      if (!stream) return result as HttpResponse;
      // The body is the caller's now: the slot and the abort link end when it closes.
      handedOver = true;
      const body = (result as HttpStreamResponse).body;
      scope.endDeadline();
      body.once('close', () => {
        scope.dispose();
        bulkhead?.release();
      });
      return result;
    } finally {
      if (!handedOver) {
        scope.dispose();
        bulkhead?.release();
      }
    }
  }

  #policies(origin: string): OriginPolicies {
    // Most clients talk to one origin: a string compare is cheaper than hashing a fresh string.
    const last = this.#lastPolicies;
    if (last !== undefined && last.origin === origin) return last;
    let policies = this.#origins.get(origin);
    if (!policies) {
      const { bulkhead, circuitBreaker } = this.#options;
      policies = {
        origin,
        bulkhead: bulkhead && new Bulkhead(origin, bulkhead.maxConcurrent, bulkhead.maxQueued),
        breaker: circuitBreaker && new CircuitBreaker(origin, circuitBreaker, Date.now, this.#options.logger),
      };
      this.#origins.set(origin, policies);
    }
    this.#lastPolicies = policies;
    return policies;
  }

  /**
   * Retry (with budget and Retry-After) around breaker + attempt: each attempt is reported to the
   * breaker and the request channel, then either ends the request or waits for the next one.
   */
  async #retrying(
    p: PreparedRequest,
    scope: RequestScope<PreparedRequest>,
    stream: boolean,
    breaker: CircuitBreaker | undefined,
  ): Promise<HttpResponse | HttpStreamResponse> {
    this.#budget?.recordRequest();
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let result: AttemptResult | undefined;
      let error: unknown;
      let ticket: CircuitTicket | undefined;
      try {
        ticket = breaker?.enter();
        result = attemptTrace.hasSubscribers
          ? await this.#tracedAttempt(p, scope, stream, started, attempt)
          : await this.#attempt(p, scope, stream, started, undefined);
      } catch (e) {
        error = e;
      }
      if (breaker !== undefined && ticket !== undefined)
        reportToBreaker(breaker, ticket, scope, result, error);
      if (requestEvents.enabled) publishRequest(p, result, error, performance.now() - started, attempt);
      if (scope.reason !== undefined) {
        if (result?.stream) discard(result.stream);
        // The deadline's timeout says, like the attempt's, whether a retry could run it twice.
        throw truthful(scope.reason, p.repeatable, result !== undefined);
      }
      const reason = this.#retryReason(p, result, error, attempt);
      const delay = reason === undefined ? undefined : this.#retryDelay(p, scope, result, attempt);
      if (reason === undefined || delay === undefined) {
        if (result) return this.#finish(p, result, attempt);
        throw error;
      }
      if (result?.stream) discard(result.stream);
      publishRetry(p, attempt + 1, delay, reason);
      await scope.sleep(delay);
    }
  }

  /**
   * How long to wait before the next attempt (Retry-After, capped, or full-jitter backoff), or
   * `undefined` when the wait would pass the deadline or the retry budget is spent (a retry is
   * taken from the budget only when the deadline allows it).
   */
  #retryDelay(
    p: PreparedRequest,
    scope: RequestScope<PreparedRequest>,
    result: AttemptResult | undefined,
    attempt: number,
  ): number | undefined {
    const retryAfter = result ? parseRetryAfter(result.headers['retry-after']) : undefined;
    const delay =
      retryAfter !== undefined
        ? Math.min(retryAfter, p.retry.maxDelayMs)
        : fullJitterDelay(attempt, p.retry.baseDelayMs, p.retry.maxDelayMs);
    if (scope.deadlineAt !== undefined && performance.now() + delay >= scope.deadlineAt) return undefined;
    if (this.#budget !== undefined && !this.#budget.tryRetry()) return undefined;
    return delay;
  }

  #retryReason(
    p: PreparedRequest,
    result: AttemptResult | undefined,
    error: unknown,
    attempt: number,
  ): string | undefined {
    if (!p.retryable || attempt > p.retry.limit) return undefined;
    if (result) return p.retry.statusCodes.has(result.status) ? String(result.status) : undefined;
    if (error instanceof HttpTimeoutError)
      return error.phase === 'deadline' ? undefined : `TIMEOUT_${error.phase}`;
    if (isInfrastructureError(error, 'CONNECTION') || isInfrastructureError(error, 'TIMEOUT'))
      return error.code;
    return undefined;
  }

  async #finish(
    p: PreparedRequest,
    result: AttemptResult,
    attempts: number,
  ): Promise<HttpResponse | HttpStreamResponse> {
    const url = result.url.href;
    if (p.throwHttpErrors && result.status >= 400) {
      // A streamed error status comes with its excerpt already read (see #attempt).
      const body = result.bytes ?? Buffer.alloc(0);
      // A 500 to a POST without an idempotency key may have charged: retryable only if repeatable.
      throw new HttpStatusError(
        `${P} ${describeRequest(p)} responded ${result.status}`,
        {
          status: result.status,
          headers: redactHeaders(result.headers, this.#options.sensitiveHeaders),
          body: body.subarray(0, ERROR_EXCERPT_BYTES),
        },
        { repeatable: p.repeatable },
      );
    }
    if (result.stream !== undefined) {
      return { status: result.status, headers: result.headers, url, attempts, body: result.stream };
    }
    return new BufferedResponse(result.status, result.headers, result.bytes, url, attempts);
  }

  /** {@link #attempt} published on the attempt trace channel, sending the headers a subscriber adds. */
  #tracedAttempt(
    p: PreparedRequest,
    scope: RequestScope<PreparedRequest>,
    stream: boolean,
    now: number,
    attempt: number,
  ): Promise<AttemptResult> {
    return traced(
      attemptTrace,
      (): HttpAttemptTrace => ({
        method: p.method,
        url: redactUrl(p.url),
        serverAddress: p.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        serverPort: p.url.port === '' ? (p.url.protocol === 'https:' ? 443 : 80) : Number(p.url.port),
        ...(p.route === undefined ? {} : { route: p.route }),
        attempt,
        headers: {},
      }),
      async (trace) => {
        try {
          const result = await this.#attempt(p, scope, stream, now, trace?.headers);
          if (trace) trace.status = result.status;
          return result;
        } catch (error) {
          if (trace) trace.errorCode = errorCodeOf(error);
          throw error;
        }
      },
    );
  }

  /**
   * One attempt under its own timeouts: send (following redirects), then read or hand over the
   * body. `extraHeaders` (a tracer's propagation fields) are sent besides the request's own.
   */
  async #attempt(
    p: PreparedRequest,
    scope: RequestScope<PreparedRequest>,
    stream: boolean,
    now: number,
    extraHeaders: Readonly<Record<string, string>> | undefined,
  ): Promise<AttemptResult> {
    const attempt = new Attempt(p, scope, this.#options.decompress, now);
    const headers = extraHeaders === undefined ? p.headers : withPropagation(p.headers, extraHeaders);
    const transport = this.#transport;
    try {
      if (attempt.reason !== undefined) throw attempt.reason;
      if (typeof transport.read === 'function' && !stream && !p.followRedirects) {
        // Fast path: the transport reads the body into memory itself (no stream, no signal).
        if (this.#options.addressFilter) checkLiteralHost(p.url, this.#options.addressFilter);
        const response = await transport.read({
          method: p.method,
          url: p.url,
          headers,
          body: p.body,
          control: attempt,
        });
        const bytes = isBuffered(response)
          ? response.bytes
          : await readBody(
              decodeBody(response.body, response.headers['content-encoding']),
              p.maxResponseBytes,
              attempt,
            );
        return completed(attempt, scope, response, p.url, bytes);
      }
      const response = await this.#sendFollowingRedirects(p, attempt, headers);
      const body = acceptHead(attempt, response);
      if (!stream)
        return completed(
          attempt,
          scope,
          response,
          response.url,
          await readBody(body, p.maxResponseBytes, attempt),
        );
      // A failing body fails as this attempt would have: no vendor error reaches the reader.
      const limited = limitBody(
        body,
        p.maxResponseBytes,
        () => attempt.tooLarge(),
        (error) => attemptFailure(p, attempt, error) as Error,
      );
      if (p.throwHttpErrors && response.status >= 400) {
        // Thrown with an excerpt of its body, read under this attempt's timers: a body that
        // never ends is cut at timeoutMs, and the status (what the caller needs) is kept.
        return completed(attempt, scope, response, response.url, await readExcerpt(limited, attempt));
      }
      attempt.clearTimers();
      return {
        status: response.status,
        headers: response.headers,
        url: response.url,
        bytes: undefined,
        stream: limited,
      };
    } catch (error) {
      attempt.clearTimers();
      scope.endAttempt(attempt);
      const errorResponse = errorStatusPastLimit(p, attempt, error);
      if (errorResponse) return errorResponse;
      throw attemptFailure(p, attempt, error);
    }
  }

  async #sendFollowingRedirects(
    p: PreparedRequest,
    attempt: Attempt,
    firstHeaders: Record<string, string>,
  ): Promise<TransportResponse & { url: URL }> {
    const signal = attempt.signal;
    let url = p.url;
    let method = p.method;
    let body = p.body;
    let headers = firstHeaders;
    const filter = this.#options.addressFilter;
    for (let hop = 0; ; hop++) {
      if (filter) checkLiteralHost(url, filter);
      const response = await this.#transport.send({ method, url, headers, body, signal });
      if (!p.followRedirects || !REDIRECTS.has(response.status)) return { ...response, url };
      const location = response.headers.location;
      let next: URL | undefined;
      try {
        next = location ? new URL(location, url) : undefined;
      } catch {
        next = undefined;
      }
      if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:')) return { ...response, url };
      // A redirect is an answer: the request ran, whatever happens on the next hop.
      attempt.redirected = true;
      const keepsMethod = response.status === 307 || response.status === 308;
      if (keepsMethod && body instanceof Readable) return { ...response, url };
      if (hop >= this.#options.maxRedirects) {
        discard(response.body);
        throw new TooManyRedirectsError(
          `${P} ${describeRequest(p)}: more than ${this.#options.maxRedirects} redirects`,
        );
      }
      response.body.resume();
      if (!keepsMethod && (response.status === 303 ? method !== 'HEAD' : method === 'POST')) {
        method = 'GET';
        body = undefined;
        const { 'content-type': _type, 'content-length': _length, ...rest } = headers;
        headers = rest;
      }
      // Credentials never follow a redirect to another origin or down to plain http.
      if (next.origin !== url.origin || (url.protocol === 'https:' && next.protocol === 'http:')) {
        const kept: Record<string, string> = {};
        for (const name in headers) {
          const value = headers[name];
          if (value !== undefined && !this.#options.sensitiveHeaders.has(name)) kept[name] = value;
        }
        headers = kept;
      }
      next.username = '';
      next.password = '';
      url = next;
    }
  }
}

/**
 * The request's headers plus a tracer's propagation fields. The caller's own headers win: one
 * that set `traceparent` itself keeps it (and its `tracestate`, or none), so a caller that
 * continues a trace of its own is never overridden.
 */
function withPropagation(
  own: Record<string, string>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  let merged: Record<string, string> | undefined;
  const callerTraceparent = own.traceparent !== undefined;
  for (const raw in extra) {
    const name = raw.toLowerCase();
    const value = extra[raw];
    if (value === undefined || own[name] !== undefined || (callerTraceparent && name === 'tracestate'))
      continue;
    merged ??= { ...own };
    merged[name] = value;
  }
  return merged ?? own;
}

/**
 * Tells the breaker how an attempt it let through went: a 5xx or an error about the origin's
 * health is a failure, any other response a success; an attempt ended by the caller or the
 * deadline, or timed out waiting on the caller's own body stream, tells nothing (the ticket is
 * only released).
 */
function reportToBreaker(
  breaker: CircuitBreaker,
  ticket: CircuitTicket,
  scope: RequestScope<PreparedRequest>,
  result: AttemptResult | undefined,
  error: unknown,
): void {
  if (result) {
    if (result.status >= 500) breaker.failure(ticket);
    else breaker.success(ticket);
  } else if (scope.reason === undefined && countsAsFailure(error) && !callerStalled(scope.request.body)) {
    breaker.failure(ticket);
  } else breaker.release(ticket);
}

/** Publishes one attempt's outcome on the request channel. */
function publishRequest(
  p: PreparedRequest,
  result: AttemptResult | undefined,
  error: unknown,
  durationMs: number,
  attempt: number,
): void {
  requestEvents.publish({
    method: p.method,
    origin: p.origin,
    ...(result ? { status: result.status } : {}),
    durationMs,
    attempt,
    outcome: result && result.status < 400 ? ('ok' as const) : ('error' as const),
    ...(result
      ? result.status >= 400
        ? { errorCode: 'HTTP_STATUS' }
        : {}
      : { errorCode: errorCodeOf(error) }),
    ...(p.route ? { route: p.route } : {}),
  });
}

/** Publishes a coming retry on the retry channel (nothing is built when nobody listens). */
function publishRetry(p: PreparedRequest, attempt: number, delayMs: number, reason: string): void {
  retryEvents.publishLazy(() => ({ method: p.method, origin: p.origin, attempt, delayMs, reason }));
}

function isBuffered(
  response: TransportResponse | BufferedTransportResponse,
): response is BufferedTransportResponse {
  return 'bytes' in response;
}

/**
 * Checks the response head (the attempt refuses a declared length past the limit: the body is
 * then let go) and that the body did not fail with it (see `failedEarly`), and returns the body
 * to take, decoded when the attempt asks for it.
 */
function acceptHead(attempt: Attempt, response: TransportResponse): Readable {
  let mode: number;
  try {
    mode = attempt.onHead(response.status, response.headers);
    const early = failedEarly(response.body);
    if (early !== undefined) throw early;
  } catch (error) {
    discard(response.body);
    throw error;
  }
  return mode < 0 ? decodeBody(response.body, response.headers['content-encoding']) : response.body;
}

/** An attempt whose body was read whole: its timers stop and the scope lets it go. */
function completed(
  attempt: Attempt,
  scope: RequestScope<PreparedRequest>,
  response: { status: number; headers: Record<string, string> },
  url: URL,
  bytes: Buffer,
): AttemptResult {
  attempt.clearTimers();
  scope.endAttempt(attempt);
  return { status: response.status, headers: response.headers, url, bytes, stream: undefined };
}

/**
 * An error status (with `throwHttpErrors`) whose body was past `maxResponseBytes`: the status is
 * what the caller needs, so the attempt ends as that response with an empty body (retried like
 * it, `HttpStatusError` with its status and headers), not as `PAYLOAD_TOO_LARGE`.
 */
function errorStatusPastLimit(
  p: PreparedRequest,
  attempt: Attempt,
  error: unknown,
): AttemptResult | undefined {
  const head = attempt.head;
  if (head === undefined || head.status < 400 || !p.throwHttpErrors) return undefined;
  if (!isInfrastructureError(attempt.reason ?? error, 'PAYLOAD_TOO_LARGE')) return undefined;
  return {
    status: head.status,
    headers: head.headers,
    url: p.url,
    bytes: Buffer.alloc(0),
    stream: undefined,
  };
}

/**
 * What a failed attempt throws: the attempt's own abort reason (timeout, deadline, caller), an
 * infrastructure error, anything else as a `ConnectionError` with a redacted cause; timeouts and
 * connection failures say whether the request may have run and whether a retry is safe.
 */
function attemptFailure(p: PreparedRequest, attempt: Attempt, error: unknown): unknown {
  const answered = attempt.headersArrived || attempt.redirected;
  if (attempt.reason !== undefined) return truthful(attempt.reason, p.repeatable, answered);
  if (isInfrastructureError(error)) return truthful(error, p.repeatable, answered);
  const cause = safeCause(error);
  const detail = error instanceof Error && cause !== undefined ? `: ${cause.message}` : '';
  const failed = new ConnectionError(`${P} ${describeRequest(p)} failed${detail}`, {
    maybeExecuted: maybeSent(error),
    cause,
  });
  return truthful(failed, p.repeatable, answered);
}

/** Whether an attempt's error says something about the origin's health (for the breaker). */
function countsAsFailure(error: unknown): boolean {
  if (error instanceof HttpTimeoutError) return error.phase !== 'deadline';
  return isInfrastructureError(error, 'CONNECTION') || isInfrastructureError(error, 'TIMEOUT');
}

function aborted(p: PreparedRequest): AbortedError {
  return new AbortedError(`${P} ${describeRequest(p)} aborted by the caller`, {
    cause: safeCause(p.signal?.reason),
  });
}

function deadlineError(p: PreparedRequest): HttpTimeoutError {
  return new HttpTimeoutError(
    `${P} ${describeRequest(p)} passed its deadline of ${p.deadlineMs} ms`,
    'deadline',
  );
}

/**
 * Reads at most a few KiB of an error response's body, then lets the rest go; what was read
 * when the body fails or `abort` fires (the attempt timed out) is the excerpt.
 */
function readExcerpt(body: Readable, abort: ReadAbort): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      abort.setReader(undefined);
      body.off('data', onData);
      discard(body);
      resolve(Buffer.concat(chunks as Uint8Array[]).subarray(0, ERROR_EXCERPT_BYTES));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ERROR_EXCERPT_BYTES) done();
    };
    if (abort.reason !== undefined) {
      done();
      return;
    }
    abort.setReader(done);
    body.on('data', onData);
    body.once('end', done);
    body.once('error', done);
  });
}
