import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import {
  AbortedError,
  type GetResult,
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  type ListedObject,
  type ListOptions,
  NotFoundError,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectStorageCapabilities,
  type PutBody,
  type PutOptions,
  type PutResult,
  type SignedUrlOptions,
} from '@voelgoed/contracts';
import { BodyReader, throwIfAborted } from './body-reader.js';
import { invalidArgument, MESSAGE_PREFIX, StorageErrorCodes } from './errors.js';
import {
  CONTINUATION,
  DATA_SUFFIX,
  META_SUFFIX,
  type ObjectPath,
  objectPath,
  piecesToBytes,
} from './fs-key-path.js';
import { validateKey } from './key.js';
import { listObjects } from './list.js';
import { headerValue, normalizeMetadata } from './object-headers.js';
import { validateRange } from './options-checks.js';
import { type EventSource, instrument } from './telemetry.js';

/** Options of {@link createFsStorage}. */
export interface FsStorageOptions {
  /** Directory that holds everything (created when missing). Objects go in `objects/`, temp files in `.tmp/`. */
  root: string;
  /** fsync each object and its metadata before it becomes visible (durable across power loss; slower). Default `false`. */
  fsync?: boolean;
  /** Largest object accepted; larger bodies reject with `PayloadTooLargeError`. Default: no limit. */
  maxObjectSize?: number;
}

/** The sidecar beside each object: its metadata and the name of its data file. */
interface Sidecar {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
  data: string;
}

/**
 * `ObjectStorage` on a local directory: the embedded default for development and tests.
 * Writes are atomic (temp file, then rename; the metadata sidecar is the commit record), keys
 * are encoded so that none can escape the root, and listing walks the tree lazily in key order.
 * `signedUrl` is not supported (`capabilities.signedUrl` is false).
 */
export class FsStorage implements ObjectStorage {
  readonly capabilities: ObjectStorageCapabilities = { signedUrl: false };
  /** Absolute root directory. */
  readonly root: string;
  readonly #objects: string;
  readonly #tmp: string;
  readonly #fsync: boolean;
  readonly #maxObjectSize: number | undefined;
  readonly #source: EventSource;
  #ready: Promise<void> | undefined;

  constructor(options: FsStorageOptions) {
    if (options === null || typeof options !== 'object') throw invalidArgument('options must be { root }');
    if (typeof options.root !== 'string' || options.root.length === 0 || options.root.includes('\0'))
      throw invalidArgument('root must be a non-empty path');
    const max = options.maxObjectSize;
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 0))
      throw invalidArgument('maxObjectSize must be a non-negative integer');
    this.root = path.resolve(options.root);
    this.#objects = path.join(this.root, 'objects');
    this.#tmp = path.join(this.root, '.tmp');
    this.#fsync = options.fsync ?? false;
    this.#maxObjectSize = max;
    this.#source = { driver: 'fs', bucket: path.basename(this.root) };
  }

  #init(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#objects, { recursive: true });
      await mkdir(this.#tmp, { recursive: true });
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw fsError(error, 'init');
    });
    return this.#ready;
  }

  put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    return instrument(
      this.#source,
      'put',
      async () => {
        validateKey(key);
        const contentType = headerValue(options.contentType, 'contentType') ?? 'application/octet-stream';
        const cacheControl = headerValue(options.cacheControl, 'cacheControl');
        const metadata = normalizeMetadata(options.metadata);
        const reader = new BodyReader(body, {
          size: options.size,
          maxBytes: this.#maxObjectSize,
          checksum: options.checksum,
          signal: options.signal,
        });
        await this.#init();
        const tmp = this.#tmpName();
        const md5 = createHash('md5');
        let handle: FileHandle | undefined;
        try {
          handle = await open(tmp, 'wx');
          for await (const chunk of reader.chunks()) {
            md5.update(chunk);
            await writeAll(handle, chunk);
            options.onProgress?.(reader.bytes);
          }
          reader.finish();
          if (this.#fsync) await handle.sync();
          await handle.close();
          handle = undefined;
          throwIfAborted(options.signal);
          const sidecar: Sidecar = {
            key,
            size: reader.bytes,
            etag: md5.digest('hex'),
            lastModified: Date.now(),
            contentType,
            metadata,
            data: '',
          };
          if (cacheControl !== undefined) sidecar.cacheControl = cacheControl;
          await this.#commit(key, tmp, sidecar);
          return { key, etag: sidecar.etag, size: sidecar.size };
        } catch (error) {
          await handle?.close().catch(() => undefined);
          await unlink(tmp).catch(() => undefined);
          throw fsError(error, 'put', key);
        }
      },
      (r) => r.size,
    );
  }

  /** Moves the data file into place, then switches the sidecar atomically (the commit). */
  async #commit(key: string, tmpData: string, sidecar: Sidecar): Promise<void> {
    const where = objectPath(this.#objects, key);
    const old = await this.#readSidecar(where).catch(() => undefined);
    sidecar.data = `${where.base}.${randomBytes(8).toString('hex')}${DATA_SUFFIX}`;
    const tmpMeta = this.#tmpName();
    await writeFile(tmpMeta, JSON.stringify(sidecar), { flag: 'wx', flush: this.#fsync });
    try {
      // A concurrent delete may prune the directory between mkdir and rename: try again.
      for (let attempt = 0; ; attempt++) {
        await mkdir(where.dir, { recursive: true });
        try {
          await rename(tmpData, path.join(where.dir, sidecar.data));
          await rename(tmpMeta, path.join(where.dir, `${where.base}${META_SUFFIX}`));
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
        }
      }
    } catch (error) {
      await unlink(tmpMeta).catch(() => undefined);
      await unlink(path.join(where.dir, sidecar.data)).catch(() => undefined);
      throw error;
    }
    if (old && old.data !== sidecar.data) await unlink(path.join(where.dir, old.data)).catch(() => undefined);
  }

  #tmpName(): string {
    return path.join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  async #readSidecar(where: ObjectPath): Promise<Sidecar> {
    const text = await readFile(path.join(where.dir, `${where.base}${META_SUFFIX}`), 'utf8');
    return JSON.parse(text) as Sidecar;
  }

  async #sidecarOf(key: string, operation: string): Promise<{ where: ObjectPath; sidecar: Sidecar }> {
    const where = objectPath(this.#objects, key);
    try {
      return { where, sidecar: await this.#readSidecar(where) };
    } catch (error) {
      throw fsError(error, operation, key);
    }
  }

  get(key: string, options: { signal?: AbortSignal } = {}): Promise<GetResult> {
    return instrument(
      this.#source,
      'get',
      async () => {
        validateKey(key);
        throwIfAborted(options.signal);
        return this.#open('get', key, undefined, undefined, options.signal);
      },
      (r) => r.size,
    );
  }

  getRange(key: string, start: number, end: number): Promise<GetResult> {
    return instrument(
      this.#source,
      'getRange',
      async () => {
        validateKey(key);
        validateRange(start, end);
        return this.#open('getRange', key, start, end, undefined);
      },
      (r) => r.size,
    );
  }

  async #open(
    operation: string,
    key: string,
    start: number | undefined,
    end: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GetResult> {
    // A put replacing the object may remove the data file between reading the sidecar and opening it.
    for (let attempt = 0; ; attempt++) {
      const { where, sidecar } = await this.#sidecarOf(key, operation);
      let handle: FileHandle;
      try {
        handle = await open(path.join(where.dir, sidecar.data), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
        throw fsError(error, operation, key);
      }
      const info = toInfo(sidecar);
      if (start === undefined) {
        const body = createReadStream('', { fd: handle, ...(signal ? { signal } : {}) });
        return { ...info, body: mapStreamErrors(body, operation, key) };
      }
      if (start >= sidecar.size) {
        await handle.close();
        throw new InvalidArgumentError(
          `${MESSAGE_PREFIX} ${operation}: the range start is not within the object`,
        );
      }
      const last = Math.min(end!, sidecar.size - 1);
      const body = createReadStream('', { fd: handle, start, end: last });
      return { ...info, body: mapStreamErrors(body, operation, key) };
    }
  }

  head(key: string): Promise<ObjectInfo> {
    return instrument(this.#source, 'head', async () => {
      validateKey(key);
      return toInfo((await this.#sidecarOf(key, 'head')).sidecar);
    });
  }

  exists(key: string): Promise<boolean> {
    return instrument(this.#source, 'exists', async () => {
      validateKey(key);
      try {
        await this.#sidecarOf(key, 'exists');
        return true;
      } catch (error) {
        if (isInfrastructureError(error, 'NOT_FOUND')) return false;
        throw error;
      }
    });
  }

  delete(key: string): Promise<void> {
    return instrument(this.#source, 'delete', async () => {
      validateKey(key);
      await this.#delete(key);
    });
  }

  async #delete(key: string): Promise<void> {
    const where = objectPath(this.#objects, key);
    let sidecar: Sidecar;
    try {
      sidecar = await this.#readSidecar(where);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(error, 'delete', key);
    }
    try {
      await unlink(path.join(where.dir, `${where.base}${META_SUFFIX}`));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError(error, 'delete', key);
    }
    await unlink(path.join(where.dir, sidecar.data)).catch(() => undefined);
    // Remove directories left empty, up to (not including) the objects root.
    for (
      let dir = where.dir;
      dir.startsWith(this.#objects) && dir !== this.#objects;
      dir = path.dirname(dir)
    ) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    return instrument(this.#source, 'deleteMany', async () => {
      if (!Array.isArray(keys)) throw invalidArgument('keys must be an array of keys');
      for (const key of keys) validateKey(key);
      const unique = [...new Set(keys)];
      // Batches of 16 at a time.
      for (let i = 0; i < unique.length; i += 16) {
        await Promise.all(unique.slice(i, i + 16).map((key) => this.#delete(key)));
      }
    });
  }

  list(prefix?: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    return listObjects(
      this.#source,
      prefix,
      options,
      (wanted) => this.#walk(this.#objects, Buffer.alloc(0), '', Buffer.from(wanted, 'utf8')),
      (error) => fsError(error, 'list'),
    );
  }

  /**
   * Depth-first walk in key order. `done` is the key so far (UTF-8 bytes, ending with '/'
   * or empty), `pending` the encoded pieces of a long segment being continued.
   */
  async *#walk(dir: string, done: Buffer, pending: string, wanted: Buffer): AsyncGenerator<ListedObject> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    interface Entry {
      sort: Buffer;
      rank: number;
      name: string;
      kind: 'file' | 'cont' | 'dir';
    }
    const entries: Entry[] = [];
    for (const name of names) {
      let kind: Entry['kind'];
      let stem: string;
      if (name.endsWith(META_SUFFIX)) {
        kind = 'file';
        stem = name.slice(0, -META_SUFFIX.length);
      } else if (name.endsWith(DATA_SUFFIX)) continue;
      else if (name.endsWith(CONTINUATION)) {
        kind = 'cont';
        stem = name.slice(0, -CONTINUATION.length);
      } else {
        kind = 'dir';
        stem = name;
      }
      const bytes = Buffer.concat([done, piecesToBytes(pending + stem), kind === 'dir' ? SLASH : EMPTY]);
      // Skip what cannot hold a key starting with the prefix.
      const n = Math.min(bytes.length, wanted.length);
      if (bytes.compare(wanted, 0, n, 0, n) !== 0) continue;
      if (kind === 'file' && bytes.length < wanted.length) continue;
      entries.push({ sort: bytes, rank: kind === 'file' ? 0 : 1, name, kind });
    }
    entries.sort((a, b) => Buffer.compare(a.sort, b.sort) || a.rank - b.rank);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.kind === 'file') {
        let sidecar: Sidecar;
        try {
          sidecar = JSON.parse(await readFile(full, 'utf8')) as Sidecar;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted meanwhile
          throw error;
        }
        yield {
          key: sidecar.key,
          size: sidecar.size,
          etag: sidecar.etag,
          lastModified: new Date(sidecar.lastModified),
        };
      } else if (entry.kind === 'cont') {
        yield* this.#walk(full, done, pending + entry.name.slice(0, -CONTINUATION.length), wanted);
      } else {
        yield* this.#walk(full, entry.sort, '', wanted);
      }
    }
  }

  copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    return instrument(
      this.#source,
      'copy',
      async () => {
        validateKey(fromKey, 'source key');
        validateKey(toKey, 'target key');
        await this.#init();
        for (let attempt = 0; ; attempt++) {
          const { where, sidecar } = await this.#sidecarOf(fromKey, 'copy');
          const tmp = this.#tmpName();
          try {
            await copyFile(path.join(where.dir, sidecar.data), tmp);
          } catch (error) {
            await unlink(tmp).catch(() => undefined);
            if ((error as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue;
            throw fsError(error, 'copy', fromKey);
          }
          const copied: Sidecar = { ...sidecar, key: toKey, lastModified: Date.now() };
          try {
            await this.#commit(toKey, tmp, copied);
          } catch (error) {
            await unlink(tmp).catch(() => undefined);
            throw fsError(error, 'copy', toKey);
          }
          return toInfo(copied);
        }
      },
      (r) => r.size,
    );
  }

  signedUrl(key: string, _options?: SignedUrlOptions): Promise<string> {
    return instrument(this.#source, 'signedUrl', async () => {
      validateKey(key);
      throw new InfrastructureError(
        StorageErrorCodes.NOT_SUPPORTED,
        `${MESSAGE_PREFIX} the filesystem driver cannot sign URLs (capabilities.signedUrl is false); serve files through your own route, or use the S3 driver`,
      );
    });
  }
}

const SLASH = Buffer.from('/');
const EMPTY = Buffer.alloc(0);

function toInfo(s: Sidecar): ObjectInfo {
  const info: ObjectInfo = {
    key: s.key,
    size: s.size,
    etag: s.etag,
    lastModified: new Date(s.lastModified),
    metadata: { ...s.metadata },
  };
  if (s.contentType !== undefined) info.contentType = s.contentType;
  if (s.cacheControl !== undefined) info.cacheControl = s.cacheControl;
  return info;
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

function mapStreamErrors<S extends NodeJS.ReadableStream & { destroy(e?: Error): unknown }>(
  stream: S,
  operation: string,
  key: string,
): S {
  // Errors pass through as typed errors: re-emit them translated.
  const original = stream.emit.bind(stream);
  stream.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === 'error') return original('error', fsError(args[0], operation, key));
    return original(event, ...args);
  }) as S['emit'];
  return stream;
}

/** Turns a filesystem error into a typed error (missing object → `NotFoundError`). */
function fsError(error: unknown, operation: string, _key?: string): InfrastructureError {
  if (isInfrastructureError(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // The key is never echoed: it may hold user data.
  const what = operation;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new NotFoundError(`${MESSAGE_PREFIX} ${what}: no such object`, { cause: error });
  }
  if ((error as Error | undefined)?.name === 'AbortError') {
    return new AbortedError(`${MESSAGE_PREFIX} ${what} was aborted`, { cause: error });
  }
  return new InfrastructureError(
    StorageErrorCodes.FS_ERROR,
    `${MESSAGE_PREFIX} ${what} failed (${code ?? 'error'})`,
    {
      retryable: code === 'EMFILE' || code === 'ENFILE' || code === 'EBUSY' || code === 'EAGAIN',
      cause: error,
    },
  );
}

/** A filesystem `ObjectStorage` under `options.root`. */
export function createFsStorage(options: FsStorageOptions): FsStorage {
  return new FsStorage(options);
}

/** The name for {@link createFsStorage}: a root directory or the full options. */
export function createFileSystemStorage(root: string | FsStorageOptions): FsStorage {
  return new FsStorage(typeof root === 'string' ? { root } : root);
}
