import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';

/** One request as the server received it (the body is read in full before the handler runs). */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent: `/orders?page=2`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpHandlerContext {
  /** The request body, read in full. */
  body: Buffer;
  /** The server that received the request (per-server state of handlers keys on it). */
  server: HttpServer;
}

/** Answers one request. May be async; a throw becomes a 500 (or a dropped connection). */
export type HttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  context: HttpHandlerContext,
) => void | Promise<void>;

const okHandler: HttpHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

/** A local `node:http` server on 127.0.0.1 and a free port, whose behaviour a test sets. */
export class HttpServer implements Stoppable {
  readonly host = '127.0.0.1';
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #handler: HttpHandler;
  #stopped: Promise<void> | undefined;

  private constructor(
    server: http.Server,
    readonly port: number,
    handler: HttpHandler,
  ) {
    this.#server = server;
    this.#handler = handler;
  }

  /** `http://127.0.0.1:<port>` */
  get origin(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** `http://127.0.0.1:<port>/`; build others with `new URL('/path', server.url)`. */
  get url(): string {
    return `${this.origin}/`;
  }

  /** Replaces the handler for the requests that arrive from now on. */
  setHandler(handler: HttpHandler): void {
    this.#handler = handler;
  }

  /** @internal */
  static async start(handler: HttpHandler): Promise<HttpServer> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Port 0: the kernel picks a free port, so there is no race to lose.
      server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const instance = new HttpServer(server, port, handler);
    server.on('connection', (socket) => instance.#track(socket));
    server.on('request', (req, res) => instance.#receive(req, res));
    trackStoppable(instance);
    return instance;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => {
      // the client went away mid-body: nothing to answer
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
      const handler = this.#handler;
      Promise.resolve()
        .then(() => handler(req, res, { body, server: this }))
        .catch((error: unknown) => {
          if (res.headersSent) {
            res.destroy();
            return;
          }
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`[testkit] handler failed: ${error instanceof Error ? error.message : String(error)}`);
        });
    });
  }

  /** Closes the server and every connection, hung and keep-alive ones included. Never hangs. */
  stop(): Promise<void> {
    untrackStoppable(this);
    this.#stopped ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a local HTTP server on a free port; `handler` defaults to 200 `ok`. */
export function startHttpServer(handler: HttpHandler = okHandler): Promise<HttpServer> {
  return HttpServer.start(handler);
}
