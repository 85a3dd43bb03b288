import { createRequire } from 'node:module';
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
import { bodilessBody, ReadHandler } from './undici-read.js';

type UndiciModule = typeof import('undici');

const NOT_INSTALLED = `${MESSAGE_PREFIX} transport 'undici' needs the undici package (>= 7): install it or use transport 'got'`;

let loading: Promise<UndiciModule> | undefined;

/** Loads undici on first use (it is an optional peer dependency). */
function loadUndici(): Promise<UndiciModule> {
  loading ??= import('undici').then(
    (mod) =>
      (mod as { Agent?: unknown }).Agent ? mod : (mod as unknown as { default: UndiciModule }).default,
    (error: unknown) => {
      loading = undefined;
      throw new InvalidArgumentError(NOT_INSTALLED, { cause: safeCause(error) });
    },
  );
  return loading;
}

/** Once found, undici stays installed for the life of the process. */
let undiciFound = false;

/**
 * Throws `INVALID_ARGUMENT` when undici cannot be found from this package, as `import('undici')`
 * would find it: at creation, not at the first request (a durable sender would otherwise accept
 * deliveries and dead-letter every one). Resolving loads nothing.
 */
function checkUndiciInstalled(): void {
  if (undiciFound) return;
  try {
    // This module's own location (the CommonJS build has no import.meta.url, but a __filename).
    const here = (import.meta as { url?: string }).url ?? __filename;
    createRequire(here).resolve('undici');
    undiciFound = true;
  } catch (error) {
    throw new InvalidArgumentError(NOT_INSTALLED, { cause: safeCause(error) });
  }
}

/**
 * An undici transport (undici >= 7 installed by the application): an `Agent` with a bounded
 * pool per origin, undici's own timeouts off except connect (the policies time attempts).
 * `INVALID_ARGUMENT` when undici is not installed.
 */
export function createUndiciTransport(settings: TransportSettings): Transport {
  checkUndiciInstalled();
  return new UndiciTransport(settings);
}

/** Where a request through a proxy's tunnel goes instead, with the headers it carries there. */
type TunnelTarget = { origin: string; headers: Record<string, string> };

class UndiciTransport implements Transport {
  readonly name = 'undici';
  readonly #settings: TransportSettings;
  #agent: Dispatcher | undefined;
  #agentPromise: Promise<Dispatcher> | undefined;
  /** One ProxyAgent per proxy (at most two: one for http targets, one for https). */
  readonly #proxies = new Map<ProxyEndpoint, Promise<Dispatcher>>();

  constructor(settings: TransportSettings) {
    this.#settings = settings;
  }

  send(request: TransportRequest): Promise<TransportResponse> {
    const proxy = proxyFor(this.#settings.proxy, request.url);
    if (proxy) return this.#proxyAgent(proxy).then((a) => this.#send(request, a, proxy));
    if (this.#agent) return this.#send(request, this.#agent, undefined);
    return this.#getAgent().then((a) => this.#send(request, a, undefined));
  }

  read(request: ReadRequest): Promise<TransportResponse | BufferedTransportResponse> {
    const proxy = proxyFor(this.#settings.proxy, request.url);
    if (proxy) {
      return this.#proxyAgent(proxy).then(async (a) => {
        const target = await viaProxy(request.url, request.headers, this.#settings.lookup);
        return readWith(request, a, proxy, target);
      });
    }
    if (this.#agent) return readWith(request, this.#agent, undefined, undefined);
    return this.#getAgent().then((a) => readWith(request, a, undefined, undefined));
  }

  /**
   * Destroys the pools at once, as got's transport destroys its agents: a request in flight and a
   * streamed body still open fail (`ConnectionError` once mapped). undici's graceful `close()`
   * would wait for every open response, and a body the caller reads slowly, or a stream that
   * never ends, would keep it waiting for ever.
   */
  async close(): Promise<void> {
    const all = [...this.#proxies.values()];
    if (this.#agentPromise) all.push(this.#agentPromise);
    const closed = new Error('the client was closed');
    await Promise.all(all.map(async (made) => (await made).destroy(closed)));
  }

  /** The direct connections' agent, made when undici is first loaded. */
  #getAgent(): Promise<Dispatcher> {
    const settings = this.#settings;
    this.#agentPromise ??= loadUndici().then((undici) => {
      this.#agent = new undici.Agent({
        connections: settings.maxSocketsPerOrigin,
        keepAliveTimeout: settings.keepAliveMs,
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: {
          timeout: settings.connectTimeoutMs,
          ...(settings.lookup ? { lookup: settings.lookup } : {}),
        },
      });
      return this.#agent;
    });
    return this.#agentPromise;
  }

  /** The agent that tunnels through `proxy`, made on first use. */
  #proxyAgent(proxy: ProxyEndpoint): Promise<Dispatcher> {
    let made = this.#proxies.get(proxy);
    if (!made) {
      const settings = this.#settings;
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
      this.#proxies.set(proxy, made);
    }
    return made;
  }

  /** Sends one request for a streamed response; errors are mapped (and blamed on the proxy when it failed). */
  async #send(
    request: TransportRequest,
    dispatcher: Dispatcher,
    proxy: ProxyEndpoint | undefined,
  ): Promise<TransportResponse> {
    try {
      const url = request.url;
      const target = proxy ? await viaProxy(url, request.headers, this.#settings.lookup) : undefined;
      const response = await dispatcher.request({
        origin: target?.origin ?? url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: target?.headers ?? request.headers,
        body: request.body as string | Uint8Array | Readable | undefined,
        signal: request.signal,
      });
      const status = response.statusCode;
      const body = response.body as unknown as Readable;
      return {
        status,
        headers: flattenHeaders(response.headers as Record<string, string | string[] | undefined>),
        body: status === 204 || status === 304 ? bodilessBody(status, body) : body,
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
  }
}

/** Sends one request whose response is read whole by a {@link ReadHandler} (no stream, no signal). */
function readWith(
  request: ReadRequest,
  dispatcher: Dispatcher,
  proxy: ProxyEndpoint | undefined,
  target: TunnelTarget | undefined,
): Promise<TransportResponse | BufferedTransportResponse> {
  return new Promise((resolve, reject) => {
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
}
