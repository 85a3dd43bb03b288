import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type { HttpMethod } from '@voelgoed/contracts';
import type { ProxyConfig } from './proxy-config.js';

/** One request as a transport sends it: URL final, headers final, no policies left to apply. */
export interface TransportRequest {
  method: HttpMethod;
  url: URL;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string | Uint8Array | Readable | undefined;
  /** Aborts the request, before or after the response head arrived. */
  signal: AbortSignal;
}

/** A response head, with the body still a (not decompressed) stream. */
export interface TransportResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Readable;
}

/** A response whose body the transport read into memory itself (see {@link Transport.read}). */
export interface BufferedTransportResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body as received (not decompressed: `onHead` asks for a stream when it must be). */
  bytes: Buffer;
}

/** Something a request in flight can be aborted through. */
export interface Abortable {
  abort(reason: unknown): void;
}

/** How a transport's {@link Transport.read} reports to, and is aborted by, the attempt it serves. */
export interface ReadControl {
  /**
   * The transport registers how to abort the request, synchronously from `read`. An abort
   * that came earlier is delivered at once. On abort, `read` rejects with the reason given.
   */
  setAbort(target: Abortable): void;
  /**
   * Called with the response head (final status, not 1xx). Returns the most body bytes to read
   * into memory, or `-1` to hand the body over as a stream instead; throws to fail the request
   * (the transport aborts it and rejects with what was thrown).
   */
  onHead(status: number, headers: Record<string, string>): number;
  /** The error to abort and reject with when the body passes the limit `onHead` returned. */
  tooLarge(): Error;
}

/** One request for {@link Transport.read}: like `TransportRequest`, aborted through `control`. */
export interface ReadRequest extends Omit<TransportRequest, 'signal'> {
  control: ReadControl;
}

/**
 * What the policies wrap: sends one request, follows no redirects, retries nothing, throws on
 * no status. Errors are `InfrastructureError`s (`ConnectionError`, `HttpTimeoutError` with
 * phase `connect`, `ForbiddenTargetError`); when `signal` aborted, the caller uses its reason.
 */
export interface Transport {
  readonly name: string;
  send(request: TransportRequest): Promise<TransportResponse>;
  /**
   * Optional fast path for responses read whole (no redirects to follow): sends the request and
   * reads the body into memory without a stream or an `AbortSignal`, under the limits `control`
   * gives; resolves with a stream instead when `onHead` asks for one. Same errors as `send`.
   */
  read?(request: ReadRequest): Promise<TransportResponse | BufferedTransportResponse>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/** Settings a transport is built with (from the client's options). */
export interface TransportSettings {
  connectTimeoutMs: number;
  /** Sockets per origin. */
  maxSocketsPerOrigin: number;
  /** How long an idle keep-alive socket is kept, ms. */
  keepAliveMs: number;
  /** DNS lookup used for every connection (the address filter hooks in here). */
  lookup: LookupFunction | undefined;
  /**
   * Proxies to connect through (from the `proxy` option or the environment); `undefined` for
   * direct connections. With `lookup` set, the target's name is resolved and judged here, before
   * the proxy is contacted, and the tunnel goes to the approved address.
   */
  proxy?: ProxyConfig | undefined;
}

/** Builds a transport from the client's settings. */
export type TransportFactory = (settings: TransportSettings) => Transport;

/** Joins Node-style headers (`string | string[] | undefined`) into one string per name. */
export function flattenHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    out[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}
