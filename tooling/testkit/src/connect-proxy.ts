import http, { type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import { type Stoppable, trackStoppable, untrackStoppable } from './registry.js';

/** One CONNECT request the proxy received, whatever its answer. */
export interface ProxyConnect {
  /** The request target: `host:port`. */
  target: string;
  /** The `Proxy-Authorization` header as sent, if any. */
  authorization: string | undefined;
  /** The status the proxy answered with (200 for a tunnel it opened). */
  status: number;
}

export interface StartConnectProxyOptions {
  /** Answer 407 to a CONNECT without `Proxy-Authorization: Basic base64(user:pass)`. */
  auth?: { username: string; password: string };
  /** Answer every CONNECT with this status instead of opening a tunnel (e.g. 403, 502). */
  refuseWith?: number;
}

/**
 * A local forward proxy on 127.0.0.1 and a free port: opens CONNECT tunnels (counted per
 * target) and forwards absolute-form requests (`GET http://host/path`, counted too).
 */
export class ConnectProxy implements Stoppable {
  readonly host = '127.0.0.1';
  /** Every CONNECT received, in order. */
  readonly connects: ProxyConnect[] = [];
  /** Every absolute-form request forwarded: the full URL as sent. */
  readonly forwarded: string[] = [];
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #options: StartConnectProxyOptions;
  #stopped: Promise<void> | undefined;

  private constructor(
    server: http.Server,
    readonly port: number,
    options: StartConnectProxyOptions,
  ) {
    this.#server = server;
    this.#options = options;
  }

  /** `http://127.0.0.1:<port>` (no credentials). */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The URL with the configured credentials in it (percent-encoded). */
  get urlWithAuth(): string {
    const auth = this.#options.auth;
    if (!auth) return this.url;
    return `http://${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@${this.host}:${this.port}`;
  }

  /** Tunnels opened (status 200) to `target` (`host:port`). */
  tunnelsTo(target: string): number {
    return this.connects.filter((c) => c.status === 200 && c.target === target).length;
  }

  /** CONNECT requests received, whatever the answer. */
  get connectCount(): number {
    return this.connects.length;
  }

  /** Changes how the proxy answers from now on. */
  configure(options: StartConnectProxyOptions): void {
    this.#options = options;
  }

  /** @internal */
  static async start(options: StartConnectProxyOptions): Promise<ConnectProxy> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const proxy = new ConnectProxy(server, port, options);
    server.on('connection', (socket: Socket) => proxy.#track(socket));
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      proxy.#connect(req, socket, head),
    );
    server.on('request', (req, res) => proxy.#forward(req, res));
    trackStoppable(proxy);
    return proxy;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** The status to answer a request with before doing anything for it, or 0 to go ahead. */
  #gate(authorization: string | undefined): number {
    const { auth, refuseWith } = this.#options;
    if (auth) {
      const expected = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      if (authorization !== expected) return 407;
    }
    return refuseWith ?? 0;
  }

  #connect(req: IncomingMessage, client: Socket, head: Buffer): void {
    const target = req.url ?? '';
    const authorization = req.headers['proxy-authorization'];
    const record: ProxyConnect = { target, authorization, status: 0 };
    this.connects.push(record);
    client.on('error', () => {
      // the client went away: the upstream side is closed below
    });
    const answer = (status: number, reason: string): void => {
      record.status = status;
      const extra = status === 407 ? 'Proxy-Authenticate: Basic realm="testkit"\r\n' : '';
      client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    const gate = this.#gate(authorization);
    if (gate !== 0) {
      answer(gate, gate === 407 ? 'Proxy Authentication Required' : 'Refused');
      return;
    }
    const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(target);
    if (!match) {
      answer(400, 'Bad Request');
      return;
    }
    const upstream = net.connect({ host: match[1], port: Number(match[2]) });
    this.#track(upstream);
    upstream.once('error', () => {
      if (record.status === 0) answer(502, 'Bad Gateway');
      else client.destroy();
    });
    upstream.once('connect', () => {
      record.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  #forward(req: IncomingMessage, res: http.ServerResponse): void {
    const gate = this.#gate(req.headers['proxy-authorization']);
    if (gate !== 0) {
      res.writeHead(gate, gate === 407 ? { 'proxy-authenticate': 'Basic realm="testkit"' } : {});
      res.end();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    this.forwarded.push(url.href);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(url, { method: req.method, headers, agent: false }, (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    });
    upstream.once('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  /** Closes the proxy and every connection and tunnel. Never hangs. */
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

/** Starts a local CONNECT proxy on a free port (see {@link ConnectProxy}). */
export function startConnectProxy(options: StartConnectProxyOptions = {}): Promise<ConnectProxy> {
  return ConnectProxy.start(options);
}
