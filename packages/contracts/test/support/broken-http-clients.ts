import type {
  HttpClient,
  HttpRequest,
  HttpRequestOptions,
  HttpResponse,
  HttpStreamResponse,
} from '../../src/ports/http.js';

/** Deliberate defects, each of which some conformance check must catch. */
export interface HttpDefects {
  /** idempotencyKey is dropped: no header, and POST is not retried. */
  dropIdempotencyKey?: boolean;
  /** every method is retried, POST without a key included. */
  retryEverything?: boolean;
  /** idempotencyKey: true makes a new key on every attempt. */
  newKeyPerAttempt?: boolean;
  /** statuses >= 400 resolve instead of rejecting. */
  neverThrowHttpErrors?: boolean;
  /** the per-attempt timeout is ignored. */
  ignoreTimeout?: boolean;
  /** the AbortSignal is ignored. */
  ignoreSignal?: boolean;
  /** the query option is ignored. */
  ignoreQuery?: boolean;
}

/** An HttpClient that rewrites requests before a correct client sends them. */
export class BrokenHttpClient implements HttpClient {
  health() {
    return this.inner.health();
  }

  close() {
    return this.inner.close();
  }

  constructor(
    private readonly inner: HttpClient,
    private readonly defects: HttpDefects,
  ) {}

  #rewrite(request: HttpRequest): HttpRequest {
    let out: HttpRequest;
    try {
      out = { ...request };
    } catch {
      // A request that cannot be read goes through as it is: the inner client refuses it.
      return request;
    }
    const d = this.defects;
    if (d.dropIdempotencyKey) delete out.idempotencyKey;
    if (d.retryEverything) {
      const retry = typeof out.retry === 'object' ? out.retry : {};
      if (out.retry !== false)
        out.retry = { ...retry, methods: ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'] };
    }
    if (d.neverThrowHttpErrors) out.throwHttpErrors = false;
    if (d.ignoreTimeout) delete out.timeoutMs;
    if (d.ignoreSignal) delete out.signal;
    if (d.ignoreQuery) delete out.query;
    return out;
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    const rewritten = this.#rewrite(request);
    if (!this.defects.newKeyPerAttempt || rewritten.idempotencyKey !== true)
      return this.inner.request(rewritten);
    // Retries by itself, asking the inner client for a fresh key each time.
    const limit = typeof rewritten.retry === 'object' ? (rewritten.retry.limit ?? 2) : 2;
    for (let attempt = 1; ; attempt++) {
      const response = await this.inner.request({ ...rewritten, retry: false, throwHttpErrors: false });
      if (response.status < 500 || attempt > limit) return { ...response, attempts: attempt };
    }
  }

  stream(request: HttpRequest): Promise<HttpStreamResponse> {
    return this.inner.stream(this.#rewrite(request));
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
}
