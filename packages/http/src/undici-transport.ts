import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '@voelgoed/contracts';
import type { Dispatcher } from 'undici';
import { MESSAGE_PREFIX, safeCause } from './errors.js';
import { type ProxyEndpoint, proxyFor } from './proxy-config.js';
import { proxyFailure, viaProxy } from './proxy-undici.js';
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
  type UndiciAgent = Dispatcher;
  let agent: UndiciAgent | undefined;
  let agentPromise: Promise<UndiciAgent> | undefined;
  // One ProxyAgent per proxy (at most two: one for http targets, one for https).
  const proxies = new Map<ProxyEndpoint, Promise<UndiciAgent>>();
  const proxyAgent = (proxy: ProxyEndpoint): Promise<UndiciAgent> => {
    let made = proxies.get(proxy);
    if (!made) {
      made = loadUndici().then(
        (undici) =>
          new undici.ProxyAgent({
            uri: proxy.origin,
            ...(proxy.authorization ? { token: proxy.authorization } : {}),
            proxyTunnel: true,
            connections: settings.maxSocketsPerOrigin,
            keepAliveTimeout: settings.keepAliveMs,
            headersTimeout: 0,
            bodyTimeout: 0,
            connectTimeout: settings.connectTimeoutMs,
          }),
      );
      proxies.set(proxy, made);
    }
    return made;
  };
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

  const send = async (
    request: TransportRequest,
    dispatcher: UndiciAgent,
    proxy: ProxyEndpoint | undefined,
  ): Promise<TransportResponse> => {
    try {
      const url = request.url;
      const target = proxy ? await viaProxy(url, request.headers, settings.lookup) : undefined;
      const response = await dispatcher.request({
        origin: target?.origin ?? url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: target?.headers ?? request.headers,
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
      const mapped = mapTransportError(
        error,
        request.method,
        request.url,
        code === 'UND_ERR_CONNECT_TIMEOUT',
      );
      throw (proxy && proxyFailure(mapped, proxy, request.url)) || mapped;
    }
  };

  const read = (
    request: ReadRequest,
    dispatcher: UndiciAgent,
    proxy: ProxyEndpoint | undefined,
    target: { origin: string; headers: Record<string, string> } | undefined,
  ): Promise<TransportResponse | BufferedTransportResponse> =>
    new Promise((resolve, reject) => {
      const fail = proxy
        ? (error: unknown) => reject(proxyFailure(error, proxy, request.url) || error)
        : reject;
      const handler = new ReadHandler(request, resolve, fail);
      request.control.setAbort(handler);
      const url = request.url;
      try {
        dispatcher.dispatch(
          {
            origin: target?.origin ?? url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method,
            headers: target?.headers ?? request.headers,
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
      const proxy = proxyFor(settings.proxy, request.url);
      if (proxy) return proxyAgent(proxy).then((a) => send(request, a, proxy));
      if (agent) return send(request, agent, undefined);
      return getAgent().then((a) => send(request, a, undefined));
    },
    read(request: ReadRequest): Promise<TransportResponse | BufferedTransportResponse> {
      const proxy = proxyFor(settings.proxy, request.url);
      if (proxy) {
        return proxyAgent(proxy).then(async (a) => {
          const target = await viaProxy(request.url, request.headers, settings.lookup);
          return read(request, a, proxy, target);
        });
      }
      if (agent) return read(request, agent, undefined, undefined);
      return getAgent().then((a) => read(request, a, undefined, undefined));
    },
    async close(): Promise<void> {
      const all = [...proxies.values()];
      if (agentPromise) all.push(agentPromise);
      await Promise.all(all.map(async (made) => (await made).close()));
    },
  };
}
