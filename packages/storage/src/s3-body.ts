import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  ConnectionError,
  type InfrastructureError,
  IntegrityError,
  type ObjectInfo,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from './errors.js';
import { ignore } from './s3-transport.js';

/**
 * `ObjectInfo` from the headers of a GET or HEAD response. `size` is the whole object's size:
 * the total of Content-Range for a range, else Content-Length.
 */
export function infoFromHeaders(key: string, headers: IncomingHttpHeaders): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice(11)] = value;
  }
  const info: ObjectInfo = {
    key,
    size: Number(/\/(\d+)$/.exec(headers['content-range'] ?? '')?.[1] ?? headers['content-length'] ?? 0),
    etag: (headers.etag ?? '').replace(/^"+|"+$/g, ''),
    lastModified: new Date(headers['last-modified'] ?? 0),
    metadata,
  };
  if (headers['content-type']) info.contentType = headers['content-type'];
  if (typeof headers['cache-control'] === 'string') info.cacheControl = headers['cache-control'];
  return info;
}

/**
 * The response body as a Readable that ends only when every announced byte arrived: a body
 * cut short (server killed, connection dropped) errors with a typed error instead of ending
 * early, and destroying the body closes the connection. With `slice`, only those bytes of the
 * body (inclusive) are passed on.
 */
export function wrapBody(
  res: IncomingMessage,
  translate: (error: unknown) => InfrastructureError,
  slice?: { start: number; end: number },
): Readable {
  const expected =
    res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  let received = 0;
  let ended = false;
  const out = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      res.resume();
    },
    destroy(error, callback) {
      if (!ended) res.destroy();
      callback(error);
    },
  });
  // As Node does for a response: an error of a body nobody listens to yet (held unread while the
  // caller's signal aborts or the storage closes) must not end the process. It stays the stream's
  // `errored`, which reading it (`for await`, pipeline) reports.
  out.on('error', ignore);
  res.on('data', (chunk: Buffer) => {
    const offset = received;
    received += chunk.length;
    let part = chunk;
    if (slice) {
      // Bytes [slice.start, slice.end] of the whole body (inclusive).
      const from = Math.max(0, slice.start - offset);
      const to = Math.min(chunk.length, slice.end + 1 - offset);
      if (to <= from) return;
      part = chunk.subarray(from, to);
    }
    if (!out.push(part)) res.pause();
  });
  res.on('end', () => {
    ended = true;
    if (expected !== undefined && received !== expected) {
      out.destroy(
        new IntegrityError(`${MESSAGE_PREFIX} the object body ended after ${received} of ${expected} bytes`),
      );
    } else out.push(null);
  });
  res.on('error', (error) => {
    ended = true;
    out.destroy(translate(error));
  });
  res.on('close', () => {
    if (!ended && !out.destroyed) {
      out.destroy(
        translate(
          new ConnectionError(`${MESSAGE_PREFIX} the connection closed after ${received} bytes of the body`),
        ),
      );
    }
  });
  return out;
}
