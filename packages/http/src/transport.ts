import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import type { HttpMethod } from '@voelgoed/contracts';

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

/**
 * What the policies wrap: sends one request, follows no redirects, retries nothing, throws on
 * no status. Errors are `InfrastructureError`s (`ConnectionError`, `HttpTimeoutError` with
 * phase `connect`, `ForbiddenTargetError`); when `signal` aborted, the caller uses its reason.
 */
export interface Transport {
  readonly name: string;
  send(request: TransportRequest): Promise<TransportResponse>;
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
