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

/** A request whose response did not start within `timeoutMs`. */
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
 * With `signer`, the transport signs each request itself (for a minio client without
 * credentials, which sends requests unsigned): the payload hash is the request's own
 * `x-amz-content-sha256` header when the caller set one, else that of an empty body.
 */
export function createTransport(useSSL: boolean, timeoutMs: number, signer?: SigV4Signer): Transport {
  const mod = useSSL ? https : http;
  // One swept timer for all requests, not a socket timeout per request: a socket timeout is
  // re-armed on every read and write, which cost ~10% of small-object throughput.
  const pending = new Map<ClientRequest, { deadline: number; activity: { at: number } | undefined }>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = Date.now();
    for (const [req, { deadline, activity }] of pending) {
      if (now >= (activity ? Math.max(deadline, activity.at + timeoutMs) : deadline)) {
        pending.delete(req);
        req.destroy(new RequestIdleTimeout(timeoutMs));
      }
    }
    if (pending.size === 0 && sweeper) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
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
      const req = mod.request(signal ? { ...options, signal } : options, callback);
      if (timeoutMs > 0) {
        pending.set(req, { deadline: Date.now() + timeoutMs, activity: scope?.activity });
        sweeper ??= setInterval(sweep, Math.max(25, Math.min(1000, timeoutMs / 4))).unref();
        // A body being read may pause under back-pressure: the deadline holds only until it starts.
        const done = () => pending.delete(req);
        req.once('response', done);
        req.once('close', done);
      }
      return req;
    },
  };
}
