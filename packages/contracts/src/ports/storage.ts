import type { Readable } from 'node:stream';
import type { Resource } from './health.js';

/** What is known of a stored object. */
export interface ObjectInfo {
  key: string;
  /** Size in bytes. */
  size: number;
  /** Entity tag without quotes (an MD5 hex for single-part S3 uploads; opaque in general). */
  etag: string;
  lastModified: Date;
  contentType?: string;
  cacheControl?: string;
  /** User metadata, lower-case keys. */
  metadata: Readonly<Record<string, string>>;
}

/** An item of {@link ObjectStorage.list}: `head` fields that a listing gives. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export type PutBody = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  contentType?: string;
  /** User metadata (keys are stored lower-case). */
  metadata?: Readonly<Record<string, string>>;
  cacheControl?: string;
  /** The body's size when it is a stream and the size is known; a stream of another size is an `IntegrityError`. */
  size?: number;
  /** Expected checksum of the body; a mismatch is an `IntegrityError` and nothing is stored. */
  checksum?: { algorithm: 'md5' | 'sha256'; value: string; encoding?: 'hex' | 'base64' };
  /** Called with the bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

export interface PutResult {
  key: string;
  etag: string;
  size: number;
}

/** A body being read: consume `body` or destroy it. */
export interface GetResult extends ObjectInfo {
  body: Readable;
}

export interface ListOptions {
  /** Stop after this many items. */
  limit?: number;
}

export interface SignedUrlOptions {
  method?: 'GET' | 'PUT';
  /** Lifetime in seconds (default 900; capped by the driver, e.g. 7 days for S3). */
  expiresInS?: number;
  /** For PUT: the content type the uploader must send. */
  contentType?: string;
}

/** Optional features a driver may not have; conformance suites test only what is declared. */
export interface ObjectStorageCapabilities {
  signedUrl: boolean;
}

/**
 * Object storage (S3, MinIO, filesystem, memory). Keys are non-empty strings of at most 1024
 * UTF-8 bytes, without a leading '/', without empty, '.' or '..' segments (no '//', no trailing
 * '/') and without control characters, so that a key names the same object on every driver;
 * bad keys reject with `InvalidArgumentError`. A missing object rejects with `NotFoundError`.
 */
export interface ObjectStorage extends Resource {
  readonly capabilities: ObjectStorageCapabilities;
  put(key: string, body: PutBody, options?: PutOptions): Promise<PutResult>;
  get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult>;
  /**
   * Bytes `start` to `end`, both inclusive (like an HTTP Range); an `end` past the last byte is
   * cut to it, and `size` in the result is the whole object's size. Negative, non-integer or
   * reversed bounds, and a `start` at or past the end of the object, reject with
   * `InvalidArgumentError`. `signal` cancels it as it does `get` (the body included).
   */
  getRange(key: string, start: number, end: number, options?: { signal?: AbortSignal }): Promise<GetResult>;
  head(key: string): Promise<ObjectInfo>;
  exists(key: string): Promise<boolean>;
  /** Deletes the object; deleting a missing one succeeds. */
  delete(key: string): Promise<void>;
  /** Deletes many (batched); missing ones are fine. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Objects whose key starts with `prefix`, in key order, fetched page by page as iterated. */
  list(prefix?: string, options?: ListOptions): AsyncIterable<ListedObject>;
  /** Copies an object (with its metadata and content type). */
  copy(fromKey: string, toKey: string): Promise<ObjectInfo>;
  /** A URL that lets its bearer GET or PUT the object until it expires (only if `capabilities.signedUrl`). */
  signedUrl(key: string, options?: SignedUrlOptions): Promise<string>;
}
