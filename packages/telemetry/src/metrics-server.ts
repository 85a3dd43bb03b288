import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConnectionError,
  fieldsOf,
  type HealthReport,
  type Resource,
  refuseUnknownFields,
} from '@voelgoed/contracts';
import { invalidArgument, MESSAGE_PREFIX } from './errors.js';
import type { MetricsRequestHandler } from './metrics-handler.js';
import { checkReadiness, type ReadinessReport } from './readiness.js';

/** Options of `telemetry.serve()`. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Interface to bind. Default `127.0.0.1`; use `0.0.0.0` for scrapes from other hosts. */
  host?: string;
  /** Path the metrics answer on (others get 404). Default `/metrics`. */
  path?: string;
  /**
   * Resources whose health `/readyz` aggregates (beside those given to
   * `telemetry.addReadinessCheck()`). Default none: `/readyz` then answers 200.
   */
  resources?: readonly Resource[];
}

/** Answers `/readyz`: the aggregated health of the registered resources. */
export type ReadinessSource = () => Promise<ReadinessReport>;

/** A running standalone metrics server. */
export interface MetricsServer {
  /** Full URL of the metrics path, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly port: number;
  /** `http://…/healthz`: 200 while the process serves (liveness). */
  readonly healthzUrl: string;
  /** `http://…/readyz`: 200 when every resource is up or degraded, 503 otherwise, JSON body (readiness). */
  readonly readyzUrl: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

const NO_STORE = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** Answers `/readyz` from `readiness`: 200 when ready, 503 otherwise, the report as JSON. */
async function answerReadiness(readiness: ReadinessSource, response: ServerResponse): Promise<void> {
  let status = 503;
  let body: string;
  try {
    const report = await readiness();
    status = report.ready ? 200 : 503;
    body = JSON.stringify({ status: report.status, checks: report.checks.map(serialisable) });
  } catch {
    status = 503;
    body = JSON.stringify({ status: 'down', checks: [] });
  }
  if (!response.destroyed) {
    response.writeHead(status, NO_STORE);
    response.end(`${body}\n`);
  }
}

/**
 * A check as JSON can carry it: a report whose `details` JSON cannot serialise (a BigInt, a
 * cycle, a throwing `toJSON`) loses its details, not the whole answer, and the status code
 * still follows the readiness the reports gave.
 */
function serialisable(check: HealthReport): HealthReport | Record<string, unknown> {
  try {
    JSON.stringify(check);
    return check;
  } catch {
    const { details: _details, ...rest } = check;
    try {
      JSON.stringify(rest);
      return { ...rest, detailsOmitted: 'not JSON-serialisable' };
    } catch {
      return {
        status: check.status,
        resource: String(check.resource),
        detailsOmitted: 'not JSON-serialisable',
      };
    }
  }
}

/**
 * Starts a `node:http` server that answers `path` with `handler`, `/healthz` with 200 (the
 * process serves), `/readyz` from `readiness` (200 when ready, 503 otherwise, JSON) and 404
 * elsewhere. Rejects with `ConnectionError` when it cannot listen (port taken),
 * `InvalidArgumentError` for bad options.
 */
export async function startMetricsServer(
  handler: MetricsRequestHandler,
  options: ServeOptions,
  readiness: ReadinessSource = () => checkReadiness(options.resources ?? []),
): Promise<MetricsServer> {
  const { port, host, path } = readServeOptions(options);
  const server = createServer(routes(path, handler, readiness));
  await listenOn(server, port, host);
  return runningServer(server, host, path);
}

/** The fields of {@link ServeOptions}: any other (a misspelt `prot`) is refused. */
const SERVE_FIELDS = fieldsOf<ServeOptions>()(['port', 'host', 'path', 'resources']);

/** A path as a request line carries it: RFC 3986 path characters, without `?` or `#`. */
const PATH = /^\/[\w.~!$&'()*+,;=:@%/-]*$/;

/** The options of `serve()`, checked, with their defaults. */
function readServeOptions(options: ServeOptions): Required<Omit<ServeOptions, 'resources'>> {
  if (options === null || typeof options !== 'object') throw invalidArgument('serve() takes { port }');
  refuseUnknownFields(options, SERVE_FIELDS, 'serve() options', MESSAGE_PREFIX);
  const { port, host = '127.0.0.1', path = '/metrics' } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('serve(): port must be an integer from 0 to 65535');
  }
  if (typeof host !== 'string' || host === '')
    throw invalidArgument('serve(): host must be a non-empty string');
  if (typeof path !== 'string' || !PATH.test(path)) {
    throw invalidArgument(
      'serve(): path must start with "/" and hold only URL path characters (no query, no fragment)',
    );
  }
  // The probes keep their own paths: metrics on /readyz would answer 200 to a readiness probe
  // whatever the resources' health.
  if (path === '/healthz' || path === '/readyz') {
    throw invalidArgument(`serve(): path ${path} is the server's own probe; pick another, such as /metrics`);
  }
  const { resources } = options;
  if (
    resources !== undefined &&
    (!Array.isArray(resources) ||
      !resources.every((r) => typeof r === 'object' && r !== null && typeof r.health === 'function'))
  ) {
    throw invalidArgument('serve(): resources must be an array of objects with a health() method');
  }
  return { port, host, path };
}

/**
 * The request listener: `path` → `handler`, `/healthz`, `/readyz` (GET and HEAD; 405 for other
 * methods), 404 for anything else.
 */
function routes(
  path: string,
  handler: MetricsRequestHandler,
  readiness: ReadinessSource,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const pathname = (request.url ?? '/').split('?')[0];
    const probe = (pathname === '/healthz' || pathname === '/readyz') && pathname !== path;
    if (probe && request.method !== 'GET' && request.method !== 'HEAD') {
      // A probe reads; a POST or DELETE is a caller's mistake, as on the metrics path.
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    if (probe && pathname === '/healthz') {
      response.writeHead(200, NO_STORE);
      response.end('{"status":"up"}\n');
      return;
    }
    if (probe) {
      void answerReadiness(readiness, response);
      return;
    }
    if (pathname !== path) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('not found\n');
      return;
    }
    void handler(request, response);
  };
}

/** Listens on `host:port`; a failure (port taken) is a `ConnectionError`. */
function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
}

/** The handle of a listening server: its URLs (a wildcard host shown as 127.0.0.1) and `close()`. */
function runningServer(server: Server, host: string, path: string): MetricsServer {
  const actual = (server.address() as AddressInfo).port;
  const shownHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${actual}${path}`,
    healthzUrl: `http://${shownHost}:${actual}/healthz`,
    readyzUrl: `http://${shownHost}:${actual}/readyz`,
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
