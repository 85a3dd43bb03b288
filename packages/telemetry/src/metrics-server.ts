import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionError } from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import type { MetricsRequestHandler } from './metrics-handler.js';

/** Options of `telemetry.serve()`. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface to bind. Default `127.0.0.1`; use `0.0.0.0` for scrapes from other hosts. */
  host?: string;
  /** Path the metrics answer on (others get 404). Default `/metrics`. */
  path?: string;
}

/** A running standalone metrics server. */
export interface MetricsServer {
  /** Full URL of the metrics path, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts a `node:http` server that answers `path` with `handler` and 404 elsewhere. Rejects with
 * `ConnectionError` when it cannot listen (port taken), `InvalidArgumentError` for bad options.
 */
export async function startMetricsServer(
  handler: MetricsRequestHandler,
  options: ServeOptions,
): Promise<MetricsServer> {
  if (options === null || typeof options !== 'object') throw invalidArgument('serve() takes { port }');
  const { port, host = '127.0.0.1', path = '/metrics' } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('serve(): port must be an integer from 0 to 65535');
  }
  if (typeof host !== 'string' || host === '')
    throw invalidArgument('serve(): host must be a non-empty string');
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw invalidArgument('serve(): path must start with "/"');

  const server: Server = createServer((request, response) => {
    const pathname = (request.url ?? '/').split('?')[0];
    if (pathname !== path) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found\n');
      return;
    }
    void handler(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new ConnectionError(
          `${MESSAGE_PREFIX} serve(): cannot listen on ${host}:${port} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
          { cause: error },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${actual}${path}`,
    port: actual,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
