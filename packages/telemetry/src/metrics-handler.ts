import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** A `node:http` request handler (express accepts it as is; see the README for fastify). */
export type MetricsRequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/**
 * Serves `registry` in the Prometheus text format: `GET` and `HEAD` only (405 otherwise), 500
 * with a short message if collecting fails. It does not look at the path: mount it where you
 * want it.
 */
export function createMetricsHandler(registry: Registry): MetricsRequestHandler {
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      }
      response.end('[voelgoed:telemetry] collecting metrics failed\n');
      return;
    }
    response.writeHead(200, {
      'content-type': registry.contentType,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
}
