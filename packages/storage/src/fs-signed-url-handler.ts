import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { type GetResult, isInfrastructureError, type ObjectInfo } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';
import { notModified, requestedRange } from './fs-http-conditions.js';
import type { FsStorageOptions } from './fs-options.js';
import { decodeKeyPath, type FsUrlSigner, signerOf } from './fs-signing.js';
import { FsStorage, isClosedFsStorage } from './fs-storage.js';
import { validateKey } from './key.js';

/** Options of {@link createFsSignedUrlHandler}. */
export interface FsSignedUrlHandlerOptions {
  /**
   * The path prefix requests carry, when it differs from the path of `signing.baseUrl` (a proxy
   * in front that rewrites paths). Default: the path of `signing.baseUrl`. Under Express or
   * Connect the full path (`req.originalUrl`) is read, so mounting the handler on a sub-path
   * needs nothing here.
   */
  basePath?: string;
}

/**
 * A request handler for `node:http`'s `createServer`, Express and Connect. It calls `next()`
 * (or answers 404) for requests outside its base path, and `next(error)` (or answers 500) when
 * the filesystem fails.
 */
export type FsSignedUrlHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/** Reads of an object that changed between its metadata and its bytes, before giving up (503). */
const READ_ATTEMPTS = 3;

/** Answers with a short plain-text reason (never a key, a path or a secret). */
function answer(
  res: ServerResponse,
  status: number,
  reason: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(reason),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req?.method === 'HEAD' ? undefined : reason);
}

function objectHeaders(info: ObjectInfo, contentType: string | undefined): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    etag: `"${info.etag}"`,
    'last-modified': info.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
  };
  if (info.cacheControl !== undefined) headers['cache-control'] = info.cacheControl;
  const type = contentType ?? info.contentType;
  if (type !== undefined) headers['content-type'] = type;
  return headers;
}

/** GET or HEAD: the object, a range of it (206/416), or 304 when the client's copy is current. */
async function download(
  storage: FsStorage,
  key: string,
  contentType: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
    const info = await storage.head(key);
    const headers = objectHeaders(info, contentType);
    if (notModified(req.headers, info)) {
      const { 'content-type': _, 'x-content-type-options': __, ...kept } = headers;
      res.writeHead(304, kept);
      res.end();
      return;
    }
    const range = requestedRange(req.headers, info);
    if (range === 'unsatisfiable') {
      answer(res, 416, 'range not satisfiable', { 'content-range': `bytes */${info.size}` });
      return;
    }
    const status = range === undefined ? 200 : 206;
    if (range !== undefined) headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers['content-length'] = range === undefined ? info.size : range.end - range.start + 1;
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    let result: GetResult;
    try {
      result =
        range === undefined ? await storage.get(key) : await storage.getRange(key, range.start, range.end);
    } catch (error) {
      // The object shrank between head and read.
      if (isInfrastructureError(error, 'INVALID_ARGUMENT')) continue;
      throw error;
    }
    // Replaced between head and read: the headers sent must describe the bytes sent.
    if (result.etag !== info.etag || result.size !== info.size) {
      result.body.destroy();
      continue;
    }
    res.writeHead(status, headers);
    await pipeline(result.body, res);
    return;
  }
  answer(res, 503, 'the object kept changing while it was read', { 'retry-after': '1' });
}

/** PUT: stores the request body (with the signed content type, when one was signed). */
async function upload(
  storage: FsStorage,
  key: string,
  signedType: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const sent = req.headers['content-type'] || undefined;
  // The body is not read: close the connection rather than read what may be a large body.
  const refuse = (status: number, reason: string) => answer(res, status, reason, { connection: 'close' });
  if (signedType !== undefined && sent !== signedType)
    return refuse(403, 'the content type differs from the signed one');
  const lengthHeader = req.headers['content-length'];
  const size = lengthHeader === undefined ? undefined : Number(lengthHeader);
  try {
    const result = await storage.put(key, req, { ...(sent ? { contentType: sent } : {}), size });
    res.writeHead(200, { etag: `"${result.etag}"`, 'content-length': 0 });
    res.end();
  } catch (error) {
    if (isInfrastructureError(error, 'INVALID_ARGUMENT')) return refuse(400, 'bad content type');
    if (isInfrastructureError(error, 'PAYLOAD_TOO_LARGE')) return refuse(413, 'the body is too large');
    // The body stopped short: the client went away, or its upload failed midway.
    if (isInfrastructureError(error, 'INTEGRITY') || isInfrastructureError(error, 'ABORTED'))
      return refuse(400, 'the body was cut short');
    throw error;
  }
}

async function handle(
  storage: FsStorage,
  signer: FsUrlSigner,
  basePath: string,
  req: IncomingMessage,
  res: ServerResponse,
  next: ((error?: unknown) => void) | undefined,
): Promise<void> {
  // The raw target, not a WHATWG URL: URL parsing resolves '..' and '%2e%2e' segments.
  const target = (req as { originalUrl?: unknown }).originalUrl ?? req.url ?? '/';
  const raw = typeof target === 'string' ? target : '/';
  const queryAt = raw.indexOf('?');
  const rawPath = queryAt === -1 ? raw : raw.slice(0, queryAt);
  if (!rawPath.startsWith(basePath)) {
    if (next) next();
    else answer(res, 404, 'not found');
    return;
  }
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
    answer(res, 405, 'method not allowed', { allow: 'GET, HEAD, PUT' });
    return;
  }
  const key = decodeKeyPath(rawPath.slice(basePath.length));
  try {
    validateKey(key);
  } catch {
    answer(res, 400, 'malformed object key');
    return;
  }
  const query = new URLSearchParams(queryAt === -1 ? '' : raw.slice(queryAt + 1));
  const check = signer.check(method === 'PUT' ? 'PUT' : 'GET', key, query);
  if (!check.ok) {
    answer(res, check.status, check.reason, method === 'PUT' ? { connection: 'close' } : {});
    return;
  }
  // A closed storage refuses every call: say so, rather than pass its INVALID_ARGUMENT on as a
  // bad request.
  if (isClosedFsStorage(storage)) {
    answer(res, 503, 'the storage is closed', method === 'PUT' ? { connection: 'close' } : {});
    return;
  }
  if (method === 'PUT') await upload(storage, key, check.contentType, req, res);
  else await download(storage, key, check.contentType, req, res);
}

/**
 * Serves the URLs `FsStorage.signedUrl` signs: checks signature and expiry (403 when bad or
 * expired, 400 when malformed), then answers GET and HEAD with the object (stored content type,
 * Content-Length, ETag, Last-Modified, one `Range` → 206/416, `If-None-Match` and
 * `If-Modified-Since` → 304) and PUT by storing the body; 404 for a missing object, 405 for
 * other methods, 503 once the storage is closed. Takes the storage, or options to make one (they
 * need `signing`).
 */
export function createFsSignedUrlHandler(
  storage: FsStorage | FsStorageOptions,
  options: FsSignedUrlHandlerOptions = {},
): FsSignedUrlHandler {
  const fs = storage instanceof FsStorage ? storage : new FsStorage(storage);
  const signer = signerOf(fs);
  if (!signer)
    throw invalidArgument('the storage has no signing option: create it with signing { secret, baseUrl }');
  if (options === null || typeof options !== 'object')
    throw invalidArgument('handler options must be an object');
  const basePath = options.basePath ?? signer.basePath;
  if (typeof basePath !== 'string' || !basePath.startsWith('/'))
    throw invalidArgument("basePath must be a path starting with '/'");
  const base = basePath.endsWith('/') ? basePath : `${basePath}/`;
  return (req, res, next) => {
    handle(fs, signer, base, req, res, next).catch((error: unknown) => {
      if (res.headersSent) {
        // Cut mid-body (the client left, or the file failed): end the response as incomplete.
        res.destroy();
      } else if (isInfrastructureError(error, 'NOT_FOUND')) answer(res, 404, 'no such object');
      else if (next) next(error);
      else answer(res, 500, 'internal error');
    });
  };
}
