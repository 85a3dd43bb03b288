import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the conformance routes see it. */
export interface ConformanceHttpRequest {
  method: string;
  /** The URL path, without the query. */
  path: string;
  /** Query parameters; a repeated name gives an array. */
  query: Readonly<Record<string, string | string[]>>;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** Aborted when the client goes away; slow routes stop waiting then. */
  signal?: AbortSignal;
}

/** A response of the conformance routes. */
export interface ConformanceHttpResponse {
  status: number;
  /** An array sends the header once per value. */
  headers: Record<string, string | string[]>;
  body: string | Buffer;
}

/**
 * The routes the `HttpClient` conformance suite talks to. The suite serves it over a real
 * `node:http` server for real clients; a fake client can call it directly.
 *
 * - `/echo`: 200, JSON `{ method, path, query, headers, body, bodyBase64 }`; also sends
 *   `x-echo-repeat` twice (`a`, `b`).
 * - `/status/<code>`: that status, JSON body `{ "status": <code> }`.
 * - `/json`: 200, a fixed JSON document ({@link CONFORMANCE_JSON}).
 * - `/text`: 200, `text/plain` that is not JSON.
 * - `/sequence/<id>`: 503 with `Retry-After: 0` for the first two requests of `<id>`, then 200
 *   JSON `{ attempt }`; every request is recorded.
 * - `/attempts/<id>`: JSON `{ count, methods, idempotencyKeys }` of what `/sequence/<id>` got.
 * - `/slow?ms=<n>`: 200 after `n` ms (sooner if the client goes away).
 * - `/large?bytes=<n>`: 200, `n` bytes where byte `i` is `i % 251` ({@link largeBody}).
 * - `/marked?mark=<id>`: JSON `{ count }`, how many requests (to any route) carried the mark
 *   `<id>` in their query (`mark`) or in an `x-conformance-mark` header: the bad-input check
 *   asks it whether a refused call reached the server.
 */
export type ConformanceHttpHandler = (request: ConformanceHttpRequest) => Promise<ConformanceHttpResponse>;

/** The document `/json` answers. */
export const CONFORMANCE_JSON = Object.freeze({
  hello: 'world',
  n: 42,
  list: [1, 2, 3],
  nested: { ok: true, none: null },
  unicode: 'ünïcödé ✓',
});

/** The body `/large?bytes=n` answers. */
export function largeBody(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = i % 251;
  return out;
}

const MAX_LARGE = 64 * 1024 * 1024;
const MAX_HEADER_BYTES = 8 * 1024 * 1024;

/** What one handler remembers between requests. */
interface HandlerMemory {
  /** What `/sequence/<id>` got, by id. */
  readonly sequences: Map<string, { methods: string[]; idempotencyKeys: (string | null)[] }>;
  /** How many requests carried each mark. */
  readonly marked: Map<string, number>;
}

type Route = (request: ConformanceHttpRequest) => ConformanceHttpResponse | Promise<ConformanceHttpResponse>;

function json(
  status: number,
  value: unknown,
  headers: Record<string, string | string[]> = {},
): ConformanceHttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

const text = (status: number, body: string): ConformanceHttpResponse => ({
  status,
  headers: { 'content-type': 'text/plain' },
  body,
});

/** The routes whose path is fixed, by path. */
const FIXED_ROUTES = new Map<string, Route>([
  [
    '/echo',
    (request) =>
      json(
        200,
        {
          method: request.method,
          path: request.path,
          query: request.query,
          headers: request.headers,
          body: request.body.toString('utf8'),
          bodyBase64: request.body.toString('base64'),
        },
        { 'x-echo-repeat': ['a', 'b'] },
      ),
  ],
  ['/json', () => json(200, CONFORMANCE_JSON)],
  ['/text', () => text(200, 'plain text, not JSON')],
  [
    '/slow',
    async (request) => {
      const ms = Math.min(Number(single(request.query.ms) ?? 1000) || 0, 60_000);
      await wait(ms, request.signal);
      return text(200, 'slow');
    },
  ],
  [
    '/large',
    (request) => {
      const bytes = Math.min(Number(single(request.query.bytes) ?? 1024 * 1024) || 0, MAX_LARGE);
      return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: largeBody(bytes) };
    },
  ],
]);

/** Counts a request once for every distinct mark it carries. */
function countMarks(memory: HandlerMemory, request: ConformanceHttpRequest): void {
  const ids = new Set([request.query.mark ?? []].flat());
  const header = request.headers['x-conformance-mark'];
  if (header !== undefined) ids.add(header);
  for (const id of ids) memory.marked.set(id, (memory.marked.get(id) ?? 0) + 1);
}

/** `/sequence/<id>`: records the request, then answers 503 twice and 200 from the third. */
function sequence(
  memory: HandlerMemory,
  id: string,
  request: ConformanceHttpRequest,
): ConformanceHttpResponse {
  const seen = memory.sequences.get(id) ?? { methods: [], idempotencyKeys: [] };
  memory.sequences.set(id, seen);
  seen.methods.push(request.method);
  seen.idempotencyKeys.push(request.headers['idempotency-key'] ?? null);
  const attempt = seen.methods.length;
  if (attempt <= 2) {
    return { status: 503, headers: { 'retry-after': '0', 'content-type': 'text/plain' }, body: 'try again' };
  }
  return json(200, { attempt });
}

/** The routes with a parameter in their path (`/status/<code>`, `/sequence/<id>`, `/attempts/<id>`), else 404. */
function parameterRoute(memory: HandlerMemory, request: ConformanceHttpRequest): ConformanceHttpResponse {
  const { path } = request;
  const code = /^\/status\/(\d{3})$/.exec(path)?.[1];
  if (code !== undefined) return json(Number(code), { status: Number(code) });
  const sequenceId = /^\/sequence\/([^/]+)$/.exec(path)?.[1];
  if (sequenceId !== undefined) return sequence(memory, sequenceId, request);
  const attemptsId = /^\/attempts\/([^/]+)$/.exec(path)?.[1];
  if (attemptsId !== undefined) {
    const seen = memory.sequences.get(attemptsId) ?? { methods: [], idempotencyKeys: [] };
    return json(200, { count: seen.methods.length, ...seen });
  }
  return text(404, 'no such route');
}

/** A fresh handler of the conformance routes (with its own `/sequence` memory). */
export function createConformanceHttpHandler(): ConformanceHttpHandler {
  const memory: HandlerMemory = { sequences: new Map(), marked: new Map() };
  return async (request): Promise<ConformanceHttpResponse> => {
    if (request.path === '/marked') {
      return json(200, { count: memory.marked.get(single(request.query.mark) ?? '') ?? 0 });
    }
    countMarks(memory, request);
    const route = FIXED_ROUTES.get(request.path);
    return route ? route(request) : parameterRoute(memory, request);
  };
}

/** A running conformance server. */
export interface ConformanceHttpServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  close(): Promise<void>;
}

/** Serves `handler` on a local `node:http` server on a free port. */
export async function startConformanceHttpServer(
  handler: ConformanceHttpHandler,
): Promise<ConformanceHttpServer> {
  // Large enough for the bad-input check's 1 MiB URLs and header values: whether to send them is
  // the client's call, and the server must not answer one with a reset that looks like an outage.
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    serve(handler, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('conformance handler failed');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  handler: ConformanceHttpHandler,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://conformance.invalid');
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(name);
    const [only] = all;
    query[name] = all.length === 1 && only !== undefined ? only : all;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const response = await handler({
    method: req.method ?? 'GET',
    path: url.pathname,
    query,
    headers,
    body: Buffer.concat(chunks),
    signal: controller.signal,
  });
  if (res.destroyed) return;
  res.writeHead(response.status, response.headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
