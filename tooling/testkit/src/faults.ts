import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpHandler, HttpServer } from './http-server.js';

/** Seconds from now, or a moment in time (sent as an HTTP-date). */
export type RetryAfter = number | Date;

export interface StatusSequenceOptions {
  /** Retry-After on every response of the sequence that is not 2xx. */
  retryAfter?: RetryAfter;
  /** Response body: a string is sent as text/plain, anything else as JSON. Default `{ status }`. */
  body?: unknown;
}

export interface SlowBodyOptions {
  /** Default 200. */
  status?: number;
  headers?: OutgoingHttpHeaders;
}

function retryAfterValue(when: RetryAfter): string {
  return when instanceof Date ? when.toUTCString() : String(Math.max(0, Math.ceil(when)));
}

function send(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = typeof body === 'string';
  res.writeHead(status, { 'content-type': text ? 'text/plain' : 'application/json', ...headers });
  res.end(text ? body : JSON.stringify(body ?? null));
}

/** Runs `fn` after `ms` unless the response closes first (the client left, the server stopped). */
function later(res: ServerResponse, ms: number, fn: () => void): void {
  const timer = setTimeout(fn, ms);
  res.once('close', () => clearTimeout(timer));
}

/** Takes handlers in order, one per request, per server; then repeats the last. */
function sequence(handlers: readonly HttpHandler[]): HttpHandler {
  if (handlers.length === 0) throw new Error('[testkit] faults.sequence needs at least one handler');
  const counts = new WeakMap<HttpServer, number>();
  return (req, res, context) => {
    const index = counts.get(context.server) ?? 0;
    counts.set(context.server, index + 1);
    const handler = handlers[Math.min(index, handlers.length - 1)]!;
    return handler(req, res, context);
  };
}

/**
 * Handler builders that make a test server misbehave on purpose. They compose:
 * `faults.delay(200, faults.json(200, { ok: true }))`, `faults.sequence([faults.reset(), faults.json(200, {})])`.
 */
export const faults = {
  /** Waits `ms`, then lets `next` answer. */
  delay(ms: number, next: HttpHandler): HttpHandler {
    return (req, res, context) =>
      later(res, ms, () => {
        Promise.resolve()
          .then(() => next(req, res, context))
          .catch(() => res.destroy());
      });
  },

  sequence,

  /** Answers with these statuses in turn (per server), then repeats the last one. */
  statusSequence(statuses: readonly number[], options: StatusSequenceOptions = {}): HttpHandler {
    if (statuses.length === 0) throw new Error('[testkit] faults.statusSequence needs at least one status');
    return sequence(
      statuses.map((status): HttpHandler => {
        const headers: OutgoingHttpHeaders = {};
        if (options.retryAfter !== undefined && (status < 200 || status > 299))
          headers['retry-after'] = retryAfterValue(options.retryAfter);
        return (_req, res) => send(res, status, 'body' in options ? options.body : { status }, headers);
      }),
    );
  },

  /** Answers `status` (503 by default) with a Retry-After header: delta seconds or an HTTP-date. */
  retryAfter(when: RetryAfter, status = 503): HttpHandler {
    return (_req, res) => send(res, status, { status }, { 'retry-after': retryAfterValue(when) });
  },

  /** Resets the connection (TCP RST) instead of answering: the client sees ECONNRESET. */
  reset(): HttpHandler {
    return (req) => {
      req.socket.resetAndDestroy();
    };
  },

  /** Sends the headers, then one chunk every `intervalMs` (the first at once), then ends. */
  slowBody(
    chunks: readonly (string | Uint8Array)[],
    intervalMs: number,
    options: SlowBodyOptions = {},
  ): HttpHandler {
    return (_req, res) => {
      res.writeHead(options.status ?? 200, {
        'content-type': 'application/octet-stream',
        ...options.headers,
      });
      res.flushHeaders();
      let next = 0;
      let timer: NodeJS.Timeout | undefined;
      res.once('close', () => clearTimeout(timer));
      const step = () => {
        if (next < chunks.length) res.write(chunks[next++]);
        if (next < chunks.length) timer = setTimeout(step, intervalMs);
        else res.end();
      };
      step();
    };
  },

  /** Never answers; the connection stays open until the client gives up or the server stops. */
  hang(): HttpHandler {
    return () => {};
  },

  /** Answers `status` with `body` as JSON. */
  json(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): HttpHandler {
    return (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body ?? null));
    };
  },
} as const;
