// This file is kept identical in @voelgoed/http and @voelgoed/storage (a test compares them):
// both need it, and neither package may depend on the other.
import http from 'node:http';
import https from 'node:https';
import net, { type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { AuthenticationError, ConnectionError, type InfrastructureError } from '@voelgoed/contracts';
import type { ProxyEndpoint } from './proxy-config.js';

/** A proxy that refused the credentials (407). Nothing reached the target. */
export class ProxyAuthenticationError extends AuthenticationError {
  readonly maybeExecuted = false;
}

export interface TunnelSettings {
  proxy: ProxyEndpoint;
  /** Prefix of error messages. */
  prefix: string;
  /** Time to reach the proxy and get its answer to CONNECT, ms (0: no limit). */
  connectTimeoutMs: number;
  /** Builds the error for a tunnel not set up in time (nothing reached the target). */
  timeoutError: (message: string) => InfrastructureError;
  /**
   * Resolves and judges the target before the proxy is contacted (the address filter); the
   * tunnel then goes to the address it approved, so the proxy cannot resolve the name elsewhere.
   */
  lookup?: LookupFunction | undefined;
}

type Callback = (error: Error | null, socket?: Duplex) => void;
type AgentCallback = (error: Error | null, stream: Duplex) => void;
type ConnectOptions = http.ClientRequestArgs & tls.ConnectionOptions;

const MAX_HEAD = 16 * 1024;

function authority(host: string, port: number): string {
  return `${net.isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

function resolveTarget(
  host: string,
  lookup: LookupFunction | undefined,
  done: (e: Error | null, a?: string) => void,
) {
  if (!lookup || net.isIP(host) !== 0) {
    done(null, host);
    return;
  }
  lookup(host, { all: true }, (error, addresses) => {
    if (error) done(error);
    else if (Array.isArray(addresses) && addresses.length > 0) done(null, addresses[0]!.address);
    else if (typeof addresses === 'string') done(null, addresses);
    else done(new Error(`no address found for ${host}`));
  });
}

/** Opens a CONNECT tunnel to `host:port` through the proxy; TLS over it when `secure`. */
function openTunnel(settings: TunnelSettings, options: ConnectOptions, secure: boolean, callback: Callback) {
  const host = (options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(options.port) || (secure ? 443 : 80);
  const { proxy, prefix } = settings;
  const target = authority(host, port);
  let finished = false;
  resolveTarget(host, settings.lookup, (lookupError, address) => {
    if (lookupError) {
      finished = true;
      callback(lookupError);
      return;
    }
    const connectTo = authority(address!, port);
    const socket: Socket =
      proxy.protocol === 'https:'
        ? tls.connect({
            host: proxy.hostname,
            port: proxy.port,
            ...(net.isIP(proxy.hostname) === 0 ? { servername: proxy.hostname } : {}),
            ALPNProtocols: ['http/1.1'],
          })
        : net.connect({ host: proxy.hostname, port: proxy.port });
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      callback(error);
    };
    if (settings.connectTimeoutMs > 0) {
      timer = setTimeout(
        () =>
          fail(
            settings.timeoutError(
              `${prefix} proxy ${proxy.origin} did not open a tunnel to ${target} in time`,
            ),
          ),
        settings.connectTimeoutMs,
      );
    }
    const onError = (error: Error & { code?: string }) => {
      const detail = error.code ?? error.name;
      fail(new ConnectionError(`${prefix} proxy ${proxy.origin} could not be reached (${detail})`));
    };
    const onClose = () =>
      fail(
        new ConnectionError(`${prefix} proxy ${proxy.origin} closed the connection before opening a tunnel`),
      );
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
      socket.write(`CONNECT ${connectTo} HTTP/1.1\r\nHost: ${connectTo}\r\n${auth}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD)
          fail(new ConnectionError(`${prefix} proxy ${proxy.origin} sent an oversized reply`));
        return;
      }
      socket.off('data', onData);
      const status = Number(
        /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? 0,
      );
      if (status === 407) {
        fail(
          new ProxyAuthenticationError(
            `${prefix} proxy ${proxy.origin} refused the credentials (407) for a tunnel to ${target}`,
          ),
        );
        return;
      }
      if (status < 200 || status > 299) {
        const what = status === 0 ? 'an unreadable reply' : `status ${status}`;
        fail(new ConnectionError(`${prefix} proxy ${proxy.origin} refused a tunnel to ${target} (${what})`));
        return;
      }
      finished = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      // Until the request (or the TLS socket on top) listens, an error must not go unhandled;
      // they report the tunnel's failures themselves.
      socket.on('error', () => undefined);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      if (!secure) {
        callback(null, socket);
        return;
      }
      const servername = options.servername || (net.isIP(host) === 0 ? host : undefined);
      const {
        host: _h,
        port: _p,
        path: _path,
        lookup: _l,
        ...tlsOptions
      } = options as ConnectOptions & {
        path?: unknown;
      };
      callback(null, tls.connect({ ...tlsOptions, socket, ...(servername ? { servername } : {}) }));
    };
    socket.on('data', onData);
  });
}

/** An `http.Agent` whose connections are CONNECT tunnels through a proxy. */
export class HttpTunnelAgent extends http.Agent {
  readonly #settings: TunnelSettings;

  constructor(options: http.AgentOptions, settings: TunnelSettings) {
    super(options);
    this.#settings = settings;
  }

  override createConnection(options: ConnectOptions, callback?: AgentCallback): undefined {
    openTunnel(this.#settings, options, false, (error, socket) => callback?.(error, socket as Duplex));
    return undefined;
  }
}

/** An `https.Agent` whose connections are TLS over CONNECT tunnels through a proxy. */
export class HttpsTunnelAgent extends https.Agent {
  readonly #settings: TunnelSettings;

  constructor(options: https.AgentOptions, settings: TunnelSettings) {
    super(options);
    this.#settings = settings;
  }

  override createConnection(options: ConnectOptions, callback?: AgentCallback): undefined {
    openTunnel(this.#settings, options, true, (error, socket) => callback?.(error, socket as Duplex));
    return undefined;
  }
}
