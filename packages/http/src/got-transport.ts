import http from 'node:http';
import https from 'node:https';
import gotImport, { type Got, type Request as GotRequest } from 'got';
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
  const agentOptions = {
    keepAlive: true,
    maxSockets: settings.maxSocketsPerOrigin,
    maxFreeSockets: settings.maxSocketsPerOrigin,
    timeout: settings.keepAliveMs,
    scheduling: 'lifo' as const,
  };
  const agent = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const client = got.extend({
    agent,
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    timeout: { connect: settings.connectTimeoutMs, secureConnect: settings.connectTimeoutMs },
    ...(settings.lookup ? { dnsLookup: settings.lookup } : {}),
  });

  return {
    name: 'got',
    send(request: TransportRequest): Promise<TransportResponse> {
      return new Promise((resolve, reject) => {
        let stream: GotRequest;
        try {
          stream = client.stream(request.url, {
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
    },
    async close(): Promise<void> {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
