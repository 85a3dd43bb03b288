import { AsyncLocalStorage } from 'node:async_hooks';
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import { EMPTY_SHA256, type SigV4Signer } from './s3-signer.js';

/** Per-operation settings the transport applies to every request minio makes inside it. */
export interface RequestScope {
  signal?: AbortSignal | undefined;
  /**
   * Set by a request whose body is a stream: the time (Date.now()) its body last moved. Its
   * deadline then runs from the later of the request's start and this, so that a long streamed
   * upload is cut only when it stalls.
   */
  activity?: { at: number } | undefined;
}

/**
 * minio 8 has no per-request signal or timeout. Its `transport` option lets us supply
 * `request()`; the operation's signal travels to it through this AsyncLocalStorage.
 */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** A request whose response did not start, or whose body stopped moving, within `timeoutMs`. */
export class RequestIdleTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no progress for ${timeoutMs} ms`);
    this.name = 'RequestIdleTimeout';
  }
}

/** The `request` function minio calls, with our signal and idle timeout. */
export interface Transport {
  request(options: RequestOptions, callback: (res: IncomingMessage) => void): ClientRequest;
}

/**
 * The statuses minio 8 (retries off) turns into `Retryable HTTP status: N` without reading the
 * response (its `retryHttpCodes`): left so, the response would keep its keep-alive socket busy
 * for ever, and after `maxSockets` of them every request would wait for a socket.
 */
const UNREAD_BY_MINIO = new Set([408, 429, 499, 500, 502, 503, 504, 520]);

/** What the sweeper watches of one request: until its response starts, then while its body is read. */
interface Watch {
  deadline: number;
  activity: { at: number } | undefined;
  /** Set once the response started: its body is read by us or minio, and must keep moving. */
  res?: IncomingMessage;
  /** Bytes arrived on the response's socket since the last sweep. */
  moved?: boolean;
}

const kRelease = Symbol('voelgoed.storage.releaseBodyDeadline');
type Watched = IncomingMessage & { [kRelease]?: () => void };

/**
 * Takes a response's body off the idle deadline: for a body handed to the caller (`get`), who
 * reads it at the pace they choose (it may pause under back-pressure for as long as they like).
 */
export function releaseBodyDeadline(res: IncomingMessage): void {
  (res as Watched)[kRelease]?.();
}

/**
 * With `signer`, the transport signs each request itself (for a minio client without
 * credentials, which sends requests unsigned): the payload hash is the request's own
 * `x-amz-content-sha256` header when the caller set one, else that of an empty body.
 *
 * With `timeoutMs` > 0, every request is bounded: its response must start within `timeoutMs`
 * of the request (waiting for a socket of the agent included), and then its body must not stand
 * still for `timeoutMs` (unless released with {@link releaseBodyDeadline}). Either way it fails
 * with {@link RequestIdleTimeout}.
 */
export function createTransport(useSSL: boolean, timeoutMs: number, signer?: SigV4Signer): Transport {
  const mod = useSSL ? https : http;
  // One swept timer for all requests, not a socket timeout per request: a socket timeout is
  // re-armed on every read and write, which cost ~10% of small-object throughput.
  const pending = new Map<ClientRequest, Watch>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const [req, watch] of pending) {
      if (watch.moved) {
        watch.moved = false;
        watch.deadline = now + timeoutMs;
        continue;
      }
      const { deadline, activity } = watch;
      if (now >= (activity ? Math.max(deadline, activity.at + timeoutMs) : deadline)) {
        pending.delete(req);
        expire(req, watch.res, new RequestIdleTimeout(timeoutMs));
      }
    }
    if (pending.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const watchBody = (req: ClientRequest, watch: Watch, res: IncomingMessage) => {
    // No body to wait for (a put's answer): nothing to watch, and no listener to add and remove
    // on the hot path of small puts.
    if (res.headers['content-length'] === '0' || res.statusCode === 204 || res.statusCode === 304) {
      pending.delete(req);
      return;
    }
    const socket = res.socket;
    watch.res = res;
    watch.activity = undefined;
    watch.deadline = Date.now() + timeoutMs;
    const onData = () => {
      watch.moved = true;
    };
    const release = () => {
      pending.delete(req);
      socket?.removeListener('data', onData);
      res.removeListener('end', release);
      res.removeListener('close', release);
      (res as Watched)[kRelease] = undefined;
    };
    socket?.on('data', onData);
    res.once('end', release);
    res.once('close', release);
    (res as Watched)[kRelease] = release;
  };
  return {
    request(options, callback) {
      if (signer !== undefined) {
        const headers = options.headers as Record<string, string>;
        signer.sign(
          options.method ?? 'GET',
          options.path ?? '/',
          headers,
          headers['x-amz-content-sha256'] ?? EMPTY_SHA256,
        );
      }
      const scope = requestScope.getStore();
      const signal = scope?.signal;
      const onResponse = (res: IncomingMessage) => {
        // minio throws on these statuses without a look at the body: read it to its end here
        // (discarded), so that the socket goes back to the pool (or is closed).
        if (res.statusCode !== undefined && UNREAD_BY_MINIO.has(res.statusCode)) {
          res.on('error', ignore);
          res.resume();
        }
        callback(res);
      };
      const req = mod.request(signal ? { ...options, signal } : options, onResponse);
      if (signal) reportAbortWhileQueued(req, signal);
      if (timeoutMs > 0) {
        const watch: Watch = { deadline: Date.now() + timeoutMs, activity: scope?.activity };
        pending.set(req, watch);
        sweeper ??= setInterval(sweep, Math.max(25, Math.min(1000, timeoutMs / 4))).unref();
        req.once('response', (res: IncomingMessage) => watchBody(req, watch, res));
        req.once('close', () => {
          if (watch.res === undefined) pending.delete(req);
        });
      }
      return req;
    },
  };
}

/** A no-op listener. */
export function ignore(): void {}

/**
 * Reports `error` now on a request still waiting for a socket of the agent: Node reports it only
 * once the agent hands the request one, which may be never. That late report comes all the same;
 * a listener of the request's own keeps it from being an uncaught 'error' whoever else stopped
 * listening (the call is settled by then).
 */
function reportWhileQueued(req: ClientRequest, error: Error): void {
  req.on('error', ignore);
  req.emit('error', error);
}

/**
 * Node destroys a request whose signal aborts, but one still waiting for a socket of the agent
 * reports it only once it gets one, which may be never: report the abort now (the later report
 * finds the call settled). Listens only until the request has a socket.
 */
function reportAbortWhileQueued(req: ClientRequest, signal: AbortSignal): void {
  const onAbort = () => {
    if (req.socket) return;
    reportWhileQueued(
      req,
      Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' }),
    );
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const stop = () => signal.removeEventListener('abort', onAbort);
  req.once('socket', stop);
  req.once('close', stop);
}

/** Fails a request that made no progress in time, whatever phase it is in. */
function expire(req: ClientRequest, res: IncomingMessage | undefined, error: RequestIdleTimeout): void {
  if (res !== undefined) {
    // A body that stopped moving: its reader sees the timeout (destroying it closes the socket).
    if (res.listenerCount('error') > 0) res.destroy(error);
    else res.destroy();
    return;
  }
  const waiting = req.socket === null || req.socket === undefined;
  req.destroy(error);
  if (waiting) reportWhileQueued(req, error);
}
