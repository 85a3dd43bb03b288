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

/** Resolves the target through `lookup` (the address filter) when it is a name and there is one. */
function resolveTarget(
  host: string,
  lookup: LookupFunction | undefined,
  onAddress: (address: string) => void,
  onError: (error: Error) => void,
): void {
  if (!lookup || net.isIP(host) !== 0) {
    onAddress(host);
    return;
  }
  lookup(host, { all: true }, (error, addresses) => {
    if (error) {
      onError(error);
      return;
    }
    const address =
      typeof addresses === 'string'
        ? addresses
        : Array.isArray(addresses)
          ? addresses[0]?.address
          : undefined;
    if (address === undefined) onError(new Error(`no address found for ${host}`));
    else onAddress(address);
  });
}

/** Opens a CONNECT tunnel to `host:port` through the proxy; TLS over it when `secure`. */
function openTunnel(settings: TunnelSettings, options: ConnectOptions, secure: boolean, callback: Callback) {
  const host = (options.host ?? options.hostname ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(options.port) || (secure ? 443 : 80);
  const tunnel: Tunnel = { settings, options, secure, callback, host, target: authority(host, port) };
  resolveTarget(host, settings.lookup, (address) => handshake(tunnel, authority(address, port)), callback);
}

/** One tunnel being opened: what was asked for, and where its socket goes. */
interface Tunnel {
  settings: TunnelSettings;
  options: ConnectOptions;
  secure: boolean;
  callback: Callback;
  /** The target's host as asked (a name or an address, without brackets). */
  host: string;
  /** `host:port` as asked, for messages. */
  target: string;
}

/** A connection to the proxy itself (TLS for an `https:` proxy). */
function connectToProxy(proxy: ProxyEndpoint): Socket {
  return proxy.protocol === 'https:'
    ? tls.connect({
        host: proxy.hostname,
        port: proxy.port,
        ...(net.isIP(proxy.hostname) === 0 ? { servername: proxy.hostname } : {}),
        ALPNProtocols: ['http/1.1'],
      })
    : net.connect({ host: proxy.hostname, port: proxy.port });
}

/**
 * Asks the proxy for a tunnel to `connectTo` and hands the socket over once it answers 2xx; fails
 * once otherwise (proxy unreachable, connection closed, no answer in time, oversized or refusing
 * answer), destroying the socket.
 */
function handshake(tunnel: Tunnel, connectTo: string): void {
  const { settings, target } = tunnel;
  const { proxy, prefix } = settings;
  const socket = connectToProxy(proxy);
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  const fail = (error: Error) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.destroy();
    tunnel.callback(error);
  };
  if (settings.connectTimeoutMs > 0) {
    const message = `${prefix} proxy ${proxy.origin} did not open a tunnel to ${target} in time`;
    timer = setTimeout(() => fail(settings.timeoutError(message)), settings.connectTimeoutMs);
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
    const refusal = refusalOf(settings, head.subarray(0, end), target);
    if (refusal) {
      fail(refusal);
      return;
    }
    finished = true;
    clearTimeout(timer);
    socket.off('error', onError);
    socket.off('close', onClose);
    tunnel.callback(null, handOver(tunnel, socket, head.subarray(end + 4)));
  };
  socket.on('data', onData);
}

/** The error for a proxy's reply head that does not open the tunnel (407 or not 2xx), else `undefined`. */
function refusalOf(settings: TunnelSettings, head: Buffer, target: string): Error | undefined {
  const { proxy, prefix } = settings;
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? 0);
  if (status === 407) {
    return new ProxyAuthenticationError(
      `${prefix} proxy ${proxy.origin} refused the credentials (407) for a tunnel to ${target}`,
    );
  }
  if (status < 200 || status > 299) {
    const what = status === 0 ? 'an unreadable reply' : `status ${status}`;
    return new ConnectionError(`${prefix} proxy ${proxy.origin} refused a tunnel to ${target} (${what})`);
  }
  return undefined;
}

/**
 * The open tunnel's socket as the agent takes it: with the bytes read past the reply head put
 * back, and TLS to the target on top when `secure`.
 */
function handOver(tunnel: Tunnel, socket: Socket, rest: Buffer): Duplex {
  // Until the request (or the TLS socket on top) listens, an error must not go unhandled;
  // they report the tunnel's failures themselves.
  socket.on('error', () => undefined);
  if (rest.length > 0) socket.unshift(rest);
  if (!tunnel.secure) return socket;
  const { options, host } = tunnel;
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
  return tls.connect({ ...tlsOptions, socket, ...(servername ? { servername } : {}) });
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
