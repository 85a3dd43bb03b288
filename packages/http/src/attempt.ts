import { PayloadTooLargeError } from '@voelgoed/contracts';
import { HttpTimeoutError, MESSAGE_PREFIX } from './errors.js';
import { describeRequest, type PreparedRequest } from './prepare.js';
import { noteTimeout } from './request-body.js';
import type { RequestScope } from './scope.js';
import type { Abortable, ReadControl } from './transport.js';

const P = MESSAGE_PREFIX;

function onTimeout(attempt: Attempt): void {
  const p = attempt.request;
  attempt.abort(
    attempt.headersArrived
      ? new HttpTimeoutError(
          `${P} ${describeRequest(p)} timed out after ${p.timeoutMs} ms (reading the body)`,
          'request',
        )
      : new HttpTimeoutError(
          `${P} ${describeRequest(p)} timed out after ${p.timeoutMs} ms waiting for response headers${stall(p)}`,
          'headers',
        ),
  );
}

function onHeadersTimeout(attempt: Attempt): void {
  const p = attempt.request;
  attempt.abort(
    new HttpTimeoutError(
      `${P} ${describeRequest(p)} timed out after ${p.headersTimeoutMs} ms waiting for response headers${stall(p)}`,
      'headers',
    ),
  );
}

/** Says so when the request's own body stream had stalled (then the breaker is not told). */
function stall(p: PreparedRequest): string {
  return noteTimeout(p.body)
    ? ' (the request body stream had stalled: it was waiting for its next chunk)'
    : '';
}

function onDeadline(attempt: Attempt): void {
  attempt.scope.failDeadline();
}

/**
 * One attempt of a request: what aborts it (its timers, the scope's deadline and the caller's
 * signal, through the scope), what it aborts (the transport's request, the body reader), and
 * the response head checks. One object and at most two timers per attempt; an `AbortSignal`
 * only for transports that need one.
 */
export class Attempt implements ReadControl, Abortable {
  /** Why the attempt was aborted, once it was. */
  reason: unknown;
  headersArrived = false;
  /** The response head, once it arrived (the body's status and headers). */
  head: { status: number; headers: Record<string, string> } | undefined;
  /** A redirect came back (the request ran) before the response this attempt reads. */
  redirected = false;
  #target: Abortable | undefined;
  #controller: AbortController | undefined;
  #reader: ((reason: unknown) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #headersTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly request: PreparedRequest,
    readonly scope: RequestScope<PreparedRequest>,
    readonly decompress: boolean,
    now: number,
  ) {
    // One timer for the per-attempt timeout or the overall deadline, whichever comes first.
    const untilDeadline = scope.deadlineAt === undefined ? Number.POSITIVE_INFINITY : scope.deadlineAt - now;
    const first = Math.min(request.timeoutMs, untilDeadline);
    this.#timer =
      untilDeadline <= request.timeoutMs
        ? setTimeout(onDeadline, Math.max(0, untilDeadline), this)
        : setTimeout(onTimeout, request.timeoutMs, this);
    if (request.headersTimeoutMs < first) {
      this.#headersTimer = setTimeout(onHeadersTimeout, request.headersTimeoutMs, this);
    }
    scope.beginAttempt(this);
  }

  /** An `AbortSignal` that follows this attempt, for transports that take one (made on first use). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.reason !== undefined) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  }

  /** Ends the attempt with `reason`: aborts the request in flight and the body being read. */
  abort(reason: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.clearTimers();
    this.#controller?.abort(reason);
    this.#target?.abort(reason);
    this.#reader?.(reason);
  }

  setAbort(target: Abortable): void {
    if (this.reason !== undefined) target.abort(this.reason);
    else this.#target = target;
  }

  /** The body reader to call on abort (`undefined` when it is done). */
  setReader(reader: ((reason: unknown) => void) | undefined): void {
    this.#reader = reader;
  }

  /**
   * The response head arrived: ends the headers timeout, refuses a declared length past the
   * limit, and says how to take the body: the byte limit to read it whole, or `-1` for a stream
   * to decode.
   */
  onHead(status: number, headers: Record<string, string>): number {
    this.headersArrived = true;
    this.head = { status, headers };
    if (this.#headersTimer) {
      clearTimeout(this.#headersTimer);
      this.#headersTimer = undefined;
    }
    const p = this.request;
    if (p.method === 'HEAD' || status === 204 || status === 304) return p.maxResponseBytes;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined) return this.decompress ? -1 : p.maxResponseBytes;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > p.maxResponseBytes) throw this.tooLarge();
    return p.maxResponseBytes;
  }

  tooLarge(): Error {
    const p = this.request;
    return new PayloadTooLargeError(
      `${P} response from ${describeRequest(p)} is larger than maxResponseBytes (${p.maxResponseBytes})`,
      p.maxResponseBytes,
    );
  }

  clearTimers(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#headersTimer) {
      clearTimeout(this.#headersTimer);
      this.#headersTimer = undefined;
    }
  }
}
