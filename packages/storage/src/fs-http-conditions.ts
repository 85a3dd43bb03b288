import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectInfo } from '@voelgoed/contracts';

/**
 * The HTTP preconditions and ranges of a download (RFC 9110 §13 and §14), for the handler of
 * signed URLs: only what a browser, a download manager or a CDN sends.
 */

/** Bytes `start`..`end` (both inclusive) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/** HTTP dates have whole seconds: a Last-Modified compares by its second. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Whether `If-None-Match` names the object's entity tag (weak comparison; `*` names any). */
function noneMatchHits(header: string, etag: string): boolean {
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || (t.startsWith('W/') ? t.slice(2) : t) === `"${etag}"`;
  });
}

/**
 * Whether the client's copy is current, so the answer is 304: `If-None-Match` names the ETag,
 * or, without `If-None-Match`, nothing changed since `If-Modified-Since`.
 */
export function notModified(headers: IncomingHttpHeaders, info: ObjectInfo): boolean {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined) return noneMatchHits(noneMatch, info.etag);
  const since = headers['if-modified-since'];
  if (since === undefined) return false;
  const date = Date.parse(since);
  return !Number.isNaN(date) && seconds(info.lastModified) <= date / 1000;
}

/**
 * Whether `If-Range` (when sent) still describes the object, so a range applies: the same
 * strong ETag, or exactly its Last-Modified date. Otherwise the whole object is sent.
 */
function ifRangeHolds(headers: IncomingHttpHeaders, info: ObjectInfo): boolean {
  const header = headers['if-range'];
  if (header === undefined) return true;
  const ifRange = String(header).trim();
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === `"${info.etag}"`;
  const date = Date.parse(ifRange);
  return !Number.isNaN(date) && date / 1000 === seconds(info.lastModified);
}

/**
 * The range a `Range` header asks for: undefined to send the whole object (no header, another
 * unit, several ranges, a malformed one, or an `If-Range` that no longer holds), `'unsatisfiable'`
 * (416) when it starts at or past the end.
 */
export function requestedRange(
  headers: IncomingHttpHeaders,
  info: ObjectInfo,
): ByteRange | 'unsatisfiable' | undefined {
  const header = headers.range;
  if (header === undefined || !ifRangeHolds(headers, info)) return undefined;
  const m = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const size = info.size;
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const length = Number(m[2]);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Number.POSITIVE_INFINITY : Number(m[2]);
  if (end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}
