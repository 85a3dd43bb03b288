import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInfrastructureError } from '@voelgoed/contracts';
import type { Registry } from 'prom-client';
import { collectExposition } from './collect-exposition.js';
import { invalidArgument } from './errors.js';
import { DEFAULT_SCRAPE_TIMEOUT_MS, MAX_TIMER_MS } from './metric-names.js';

/** A `node:http` request handler (express accepts it as is; see the README for fastify). */
export type MetricsRequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** Options of {@link createMetricsHandler}. */
export interface MetricsHandlerOptions {
  /** Longest a collection may take before the handler answers 503. Default 10,000 ms. */
  timeoutMs?: number;
}

/** `value` (or `fallback` when undefined) if it is a usable timer delay in ms; else INVALID_ARGUMENT. */
export function timeoutOption(value: unknown, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (typeof chosen !== 'number' || !Number.isFinite(chosen) || chosen <= 0 || chosen > MAX_TIMER_MS) {
    throw invalidArgument(`${name} must be a number > 0 and <= ${MAX_TIMER_MS}`);
  }
  return chosen;
}

/**
 * Serves `registry` in the Prometheus text format: `GET` and `HEAD` only (405 otherwise), 503
 * when collecting takes longer than `timeoutMs`, 500 with a short message if collecting fails. It
 * does not look at the path: mount it where you want it.
 */
export function createMetricsHandler(
  registry: Registry,
  options: MetricsHandlerOptions = {},
): MetricsRequestHandler {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object');
  const timeoutMs = timeoutOption(options.timeoutMs, DEFAULT_SCRAPE_TIMEOUT_MS, 'timeoutMs');
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = await collectExposition(registry, timeoutMs);
    } catch (error) {
      const timedOut = isInfrastructureError(error, 'TIMEOUT');
      if (!response.headersSent) {
        response.writeHead(timedOut ? 503 : 500, { 'content-type': 'text/plain; charset=utf-8' });
      }
      response.end(
        timedOut
          ? '[voelgoed:telemetry] collecting metrics timed out\n'
          : '[voelgoed:telemetry] collecting metrics failed\n',
      );
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
