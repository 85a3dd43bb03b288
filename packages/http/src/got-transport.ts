import http from 'node:http';
import https from 'node:https';
import gotImport, { type Got, type Request as GotRequest } from 'got';
import { HttpTimeoutError, MESSAGE_PREFIX } from './errors.js';
import { type ProxyEndpoint, proxyFor } from './proxy-config.js';
import { HttpsTunnelAgent, HttpTunnelAgent } from './proxy-tunnel.js';
import {
  flattenHeaders,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type TransportSettings,
} from './transport.js';
import { mapTransportError } from './transport-errors.js';

// Loaded through require(esm) from the CommonJS build, the default export may arrive as the
// module namespace; take its `default` then.
const got: Got = (
  typeof gotImport === 'function' ? gotImport : (gotImport as unknown as { default: Got }).default
) as Got;

const CONNECT_EVENTS = new Set(['lookup', 'connect', 'secureConnect']);

/** The default transport: got 16 with its retries, redirects, decompression and HTTP errors off. */
export function createGotTransport(settings: TransportSettings): Transport {
  return new GotTransport(settings);
}

/** An agent per protocol, as got takes them. */
type Agents = { http: http.Agent; https: https.Agent };

class GotTransport implements Transport {
  readonly name = 'got';
  readonly #settings: TransportSettings;
  readonly #agentOptions: http.AgentOptions & { scheduling: 'lifo' };
  readonly #agent: Agents;
  /** One pair of tunnel agents per proxy (at most two: one for http targets, one for https). */
  readonly #tunnels = new Map<ProxyEndpoint, Agents>();
  readonly #client: Got;

  constructor(settings: TransportSettings) {
    this.#settings = settings;
    this.#agentOptions = {
      keepAlive: true,
      maxSockets: settings.maxSocketsPerOrigin,
      maxFreeSockets: settings.maxSocketsPerOrigin,
      timeout: settings.keepAliveMs,
      scheduling: 'lifo',
    };
    this.#agent = { http: new http.Agent(this.#agentOptions), https: new https.Agent(this.#agentOptions) };
    this.#client = got.extend({
      agent: this.#agent,
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      decompress: false,
      timeout: { connect: settings.connectTimeoutMs, secureConnect: settings.connectTimeoutMs },
      ...(settings.lookup ? { dnsLookup: settings.lookup } : {}),
    });
  }

  send(request: TransportRequest): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      let stream: GotRequest;
      try {
        const tunnel = this.#tunnelFor(request.url);
        stream = this.#client.stream(request.url, {
          ...(tunnel ? { agent: tunnel } : {}),
          method: request.method,
          headers: request.headers,
          body: request.body ?? (request.method === 'GET' || request.method === 'HEAD' ? undefined : ''),
          signal: request.signal,
        });
      } catch (error) {
        reject(mapTransportError(error, request.method, request.url, false));
        return;
      }
      let settled = false;
      stream.once('response', (response: http.IncomingMessage) => {
        settled = true;
        resolve({
          status: response.statusCode ?? 0,
          headers: flattenHeaders(response.headers),
          body: stream,
        });
      });
      stream.once('error', (error: Error & { event?: string }) => {
        if (settled) return;
        settled = true;
        const connectTimeout = error.name === 'TimeoutError' && CONNECT_EVENTS.has(error.event ?? '');
        reject(mapTransportError(error, request.method, request.url, connectTimeout));
      });
    });
  }

  async close(): Promise<void> {
    this.#agent.http.destroy();
    this.#agent.https.destroy();
    for (const pair of this.#tunnels.values()) {
      pair.http.destroy();
      pair.https.destroy();
    }
  }

  /** The tunnel agents for a url that goes through a proxy (made on first use), else `undefined`. */
  #tunnelFor(url: URL): Agents | undefined {
    const settings = this.#settings;
    const proxy = proxyFor(settings.proxy, url);
    if (!proxy) return undefined;
    const existing = this.#tunnels.get(proxy);
    if (existing) return existing;
    const tunnel = {
      proxy,
      prefix: MESSAGE_PREFIX,
      connectTimeoutMs: settings.connectTimeoutMs,
      timeoutError: (message: string) => new HttpTimeoutError(message, 'connect', { maybeExecuted: false }),
      lookup: settings.lookup,
    };
    const pair = {
      http: new HttpTunnelAgent(this.#agentOptions, tunnel),
      https: new HttpsTunnelAgent(this.#agentOptions, tunnel),
    };
    this.#tunnels.set(proxy, pair);
    return pair;
  }
}
