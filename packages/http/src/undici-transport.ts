import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '@voelgoed/contracts';
import type { Agent as UndiciAgent } from 'undici';
import { MESSAGE_PREFIX, safeCause } from './errors.js';
import {
  type BufferedTransportResponse,
  flattenHeaders,
  type ReadRequest,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type TransportSettings,
} from './transport.js';
import { mapTransportError } from './transport-errors.js';
import { ReadHandler } from './undici-read.js';

type UndiciModule = typeof import('undici');

let loading: Promise<UndiciModule> | undefined;

/** Loads undici on first use (it is an optional peer dependency). */
function loadUndici(): Promise<UndiciModule> {
  loading ??= import('undici').then(
    (mod) =>
      (mod as { Agent?: unknown }).Agent ? mod : (mod as unknown as { default: UndiciModule }).default,
    (error: unknown) => {
      loading = undefined;
      throw new InvalidArgumentError(
        `${MESSAGE_PREFIX} transport 'undici' needs the undici package (>= 7): install it or use transport 'got'`,
        { cause: safeCause(error) },
      );
    },
  );
  return loading;
}

/**
 * An undici transport (undici >= 7 installed by the application): an `Agent` with a bounded
 * pool per origin, undici's own timeouts off except connect (the policies time attempts).
 */
export function createUndiciTransport(settings: TransportSettings): Transport {
  let agent: UndiciAgent | undefined;
  let agentPromise: Promise<UndiciAgent> | undefined;
  const getAgent = (): Promise<UndiciAgent> => {
    agentPromise ??= loadUndici().then((undici) => {
      agent = new undici.Agent({
        connections: settings.maxSocketsPerOrigin,
        keepAliveTimeout: settings.keepAliveMs,
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: {
          timeout: settings.connectTimeoutMs,
          ...(settings.lookup ? { lookup: settings.lookup } : {}),
        },
      });
      return agent;
    });
    return agentPromise;
  };

  const send = async (request: TransportRequest, dispatcher: UndiciAgent): Promise<TransportResponse> => {
    try {
      const url = request.url;
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: request.headers,
        body: request.body as string | Uint8Array | Readable | undefined,
        signal: request.signal,
      });
      return {
        status: response.statusCode,
        headers: flattenHeaders(response.headers as Record<string, string | string[] | undefined>),
        body: response.body as unknown as Readable,
      };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw mapTransportError(error, request.method, request.url, code === 'UND_ERR_CONNECT_TIMEOUT');
    }
  };

  const read = (
    request: ReadRequest,
    dispatcher: UndiciAgent,
  ): Promise<TransportResponse | BufferedTransportResponse> =>
    new Promise((resolve, reject) => {
      const handler = new ReadHandler(request, resolve, reject);
      request.control.setAbort(handler);
      const url = request.url;
      try {
        dispatcher.dispatch(
          {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method,
            headers: request.headers,
            body: request.body as string | Uint8Array | Readable | undefined,
          },
          handler,
        );
      } catch (error) {
        handler.onResponseError(undefined as never, error as Error);
      }
    });

  return {
    name: 'undici',
    send(request: TransportRequest): Promise<TransportResponse> {
      if (agent) return send(request, agent);
      return getAgent().then((a) => send(request, a));
    },
    read(request: ReadRequest): Promise<TransportResponse | BufferedTransportResponse> {
      if (agent) return read(request, agent);
      return getAgent().then((a) => read(request, a));
    },
    async close(): Promise<void> {
      if (agentPromise) await (await agentPromise).close();
    },
  };
}
