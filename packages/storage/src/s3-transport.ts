import { AsyncLocalStorage } from 'node:async_hooks';
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';

/** Per-operation settings the transport applies to every request minio makes inside it. */
export interface RequestScope {
  signal?: AbortSignal | undefined;
}

/**
 * minio 8 has no per-request signal or timeout. Its `transport` option lets us supply
 * `request()`; the operation's signal travels to it through this AsyncLocalStorage.
 */
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** A request that sent or received nothing for `timeoutMs` before its response started. */
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

export function createTransport(useSSL: boolean, timeoutMs: number): Transport {
  const mod = useSSL ? https : http;
  return {
    request(options, callback) {
      const signal = requestScope.getStore()?.signal;
      const req = mod.request(signal ? { ...options, signal } : options, callback);
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => req.destroy(new RequestIdleTimeout(timeoutMs)));
        // A body being read may pause under back-pressure: the timeout guards only until it starts.
        req.once('response', () => req.setTimeout(0));
      }
      return req;
    },
  };
}
