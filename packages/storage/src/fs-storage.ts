import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, constants as fsConstants } from 'node:fs';
import { access, type FileHandle, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  boundedHealth,
  closedHealth,
  type GetResult,
  type HealthReport,
  type InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  type ListedObject,
  type ListOptions,
  type Logger,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectStorageCapabilities,
  type PutBody,
  type PutOptions,
  type PutResult,
  readPutOptions,
  type SignedUrlOptions,
} from '@voelgoed/contracts';
import { BodyReader, throwIfAborted } from './body-reader.js';
import { readGetOptions, readKeyList, readListOptions } from './caller-options.js';
import { closedError, invalidArgument, MESSAGE_PREFIX, storageError, typedStreamErrors } from './errors.js';
import { fsError } from './fs-errors.js';
import { type ObjectPath, objectPath } from './fs-key-path.js';
import {
  encodeHeader,
  headerFits,
  headerToInfo,
  type ObjectHeader,
  openObjectFile,
  readHeader,
  writeAll,
} from './fs-object-file.js';
import { type FsStorageOptions, readFsStorageOptions } from './fs-options.js';
import {
  type FsRepairOptions,
  type FsRepairReport,
  pruneEmptyDirectories,
  sweepTempFiles,
} from './fs-repair.js';
import { RootGuard } from './fs-root-guard.js';
import { attachSigner, type FsUrlSigner } from './fs-signing.js';
import { walkObjects } from './fs-walk.js';
import { validateKey } from './key.js';
import { listObjects } from './list.js';
import { validateMs, validateRange } from './options-checks.js';
import { type EventSource, instrument, rangeBytes } from './telemetry.js';

export type { FsStorageOptions } from './fs-options.js';

/** The storages that were closed (for the signed URL handler, which answers 503 for them). */
const closed = new WeakSet<FsStorage>();

/** Whether `storage` was closed. Internal: not exported from the package. */
export function isClosedFsStorage(storage: FsStorage): boolean {
  return closed.has(storage);
}

/** Tries of a commit whose directory a concurrent delete pruned (each one a delete that won a race). */
const COMMIT_ATTEMPTS = 100;

/**
 * `ObjectStorage` on a local directory: the embedded default for development and tests.
 * Each object is one file holding its bytes and then its metadata (`fs-object-file.ts`), written
 * to a temp file and committed by one `rename`: readers see the old object or the new one, and
 * no interleaving of puts and deletes, by one storage or by several processes on one root, can
 * leave a file behind that no object owns. Keys are encoded so that none can escape the root,
 * symbolic links inside the root are never followed (`fs-root-guard.ts`), and listing walks the
 * tree lazily in key order. `signedUrl` works with the `signing` option (`fs-signing.ts`).
 */
export class FsStorage implements ObjectStorage {
  readonly capabilities: ObjectStorageCapabilities;
  /** Absolute root directory. */
  readonly root: string;
  readonly #objects: string;
  readonly #tmp: string;
  readonly #fsync: boolean;
  readonly #maxObjectSize: number | undefined;
  readonly #staleTempMs: number;
  readonly #logger: Logger;
  readonly #source: EventSource;
  readonly #guard: RootGuard;
  readonly #signer: FsUrlSigner | undefined;
  /** The root as given and as resolved, stripped from the causes of errors. */
  readonly #roots: string[];
  #ready: Promise<void> | undefined;

  constructor(options: FsStorageOptions) {
    const checked = readFsStorageOptions(options);
    this.root = checked.root;
    this.#objects = path.join(this.root, 'objects');
    this.#tmp = path.join(this.root, '.tmp');
    this.#fsync = checked.fsync;
    this.#maxObjectSize = checked.maxObjectSize;
    this.#staleTempMs = checked.staleTempMs;
    this.#logger = checked.logger;
    this.#source = { driver: 'fs', bucket: path.basename(this.root) };
    this.#guard = new RootGuard(this.#objects);
    this.#roots = [this.root];
    this.#signer = checked.signer;
    if (this.#signer) attachSigner(this, this.#signer);
    this.capabilities = { signedUrl: this.#signer !== undefined };
  }

  #closed = false;

  /**
   * `up` when the root's directories exist (made on first use) and are readable and writable
   * by this process, `down` otherwise or after {@link close}. Never throws; within a second.
   */
  health(): Promise<HealthReport> {
    if (this.#closed) return Promise.resolve(closedHealth('storage', this.root));
    return boundedHealth(
      'storage',
      async () => {
        await this.#init();
        await access(this.#objects, fsConstants.R_OK | fsConstants.W_OK);
        await access(this.#tmp, fsConstants.R_OK | fsConstants.W_OK);
        return { status: 'up', resource: 'storage', target: this.root, details: { driver: 'fs' } };
      },
      { target: this.root },
    );
  }

  /**
   * Nothing stays open between calls: marks the storage closed. `health()` then reports `down`
   * and every other call rejects with `InvalidArgumentError` before it touches a file (a listing
   * under way, at its next `next()`); bodies already handed out and puts under way finish.
   * Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    closed.add(this);
  }

  /** Refuses a call once closed, before its arguments are read. */
  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Creates the directories, refuses links in their place, and sweeps stale temp files. */
  #init(): Promise<void> {
    this.#ready ??= (async () => {
      await mkdir(this.#objects, { recursive: true });
      await mkdir(this.#tmp, { recursive: true });
      const realBase = await this.#guard.init('init', [this.#objects, this.#tmp]);
      const realRoot = path.dirname(realBase);
      if (realRoot !== this.root) this.#roots.unshift(realRoot);
      const swept = await sweepTempFiles(this.root, this.#tmp, this.#staleTempMs);
      if (swept.length > 0) {
        this.#logger.info(
          { driver: 'fs', removed: swept.length, olderThanMs: this.#staleTempMs },
          'storage removed stale temp files of interrupted puts',
        );
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      // A root that cannot be made is not a missing object.
      throw fsError(error, 'opening the root', this.#roots, false);
    });
    return this.#ready;
  }

  #error(error: unknown, operation: string): InfrastructureError {
    return fsError(error, operation, this.#roots);
  }

  put(key: string, body: PutBody, putOptions: PutOptions = {}): Promise<PutResult> {
    return instrument(
      this.#source,
      'put',
      async () => {
        this.#assertOpen();
        validateKey(key);
        const options = readPutOptions(putOptions, MESSAGE_PREFIX);
        const base: Omit<ObjectHeader, 'size' | 'etag'> = {
          key,
          lastModified: Date.now(),
          contentType: options.contentType,
          metadata: options.metadata,
        };
        if (options.cacheControl !== undefined) base.cacheControl = options.cacheControl;
        if (!headerFits(base))
          throw invalidArgument('metadata, content type and cache control together are too large');
        const reader = new BodyReader(body, {
          size: options.size,
          maxBytes: this.#maxObjectSize,
          checksum: options.checksum,
          signal: options.signal,
        });
        await this.#init();
        const md5 = createHash('md5');
        const header = await this.#write(
          key,
          'put',
          async (write) => {
            for await (const chunk of reader.chunks()) {
              md5.update(chunk);
              await write(chunk);
              options.onProgress?.(reader.bytes);
            }
            reader.finish();
            return { ...base, size: reader.bytes, etag: md5.digest('hex'), lastModified: Date.now() };
          },
          options.signal,
        );
        return { key, etag: header.etag, size: header.size };
      },
      (r) => r.size,
      { key },
    );
  }

  /**
   * Writes an object file to a temp file (`fill` writes the bytes and returns the metadata),
   * then commits it with one rename. On any failure the temp file is removed.
   */
  async #write(
    key: string,
    operation: string,
    fill: (write: (chunk: Buffer) => Promise<void>) => Promise<ObjectHeader>,
    signal?: AbortSignal,
  ): Promise<ObjectHeader> {
    const tmp = path.join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle | undefined;
    try {
      handle = await open(tmp, 'wx');
      const file = handle;
      const header = await fill((chunk) => writeAll(file, chunk));
      await writeAll(file, encodeHeader(header));
      if (this.#fsync) await file.sync();
      await file.close();
      handle = undefined;
      throwIfAborted(signal);
      await this.#commit(objectPath(this.#objects, key), tmp, operation);
      return header;
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') {
        // Not a missing object: the temp file (or its directory) went away under the write.
        throw storageError(
          'FS_ERROR',
          `${MESSAGE_PREFIX} ${operation}: its temporary file was removed before it finished (a repair() or another storage's stale-temp sweep on this root); nothing was stored`,
          { retryable: true },
        );
      }
      throw this.#error(error, operation);
    }
  }

  /** Moves a finished temp file into place: one atomic rename, over any previous version. */
  async #commit(where: ObjectPath, tmp: string, operation: string): Promise<void> {
    // A concurrent delete may prune a directory between ensure and rename: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#guard.ensure(where.dir, operation);
        await rename(tmp, where.file);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A file where a directory of the key's path should be.
        if (code === 'ENOTDIR') throw fsError(error, operation, this.#roots, false);
        if (code !== 'ENOENT' || attempt >= COMMIT_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Opens `key`'s object file and reads its metadata, refusing links and files that are not
   * this key's object (the caller closes the handle).
   */
  async #openObject(key: string, operation: string): Promise<{ handle: FileHandle; header: ObjectHeader }> {
    await this.#init();
    const where = objectPath(this.#objects, key);
    let handle: FileHandle | undefined;
    try {
      await this.#guard.check(where.dir, operation);
      handle = await openObjectFile(where.file);
      return { handle, header: await readHeader(handle, operation, key) };
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw this.#error(error, operation);
    }
  }

  get(key: string, getOptions: { signal?: AbortSignal } = {}): Promise<GetResult> {
    return instrument(
      this.#source,
      'get',
      async () => {
        this.#assertOpen();
        validateKey(key);
        const { signal } = readGetOptions(getOptions);
        throwIfAborted(signal);
        return this.#read('get', key, undefined, undefined, signal);
      },
      (r) => r.size,
      { key },
    );
  }

  getRange(
    key: string,
    start: number,
    end: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<GetResult> {
    return instrument(
      this.#source,
      'getRange',
      async () => {
        this.#assertOpen();
        validateKey(key);
        validateRange(start, end);
        const { signal } = readGetOptions(options, 'getRange options');
        throwIfAborted(signal);
        return this.#read('getRange', key, start, end, signal);
      },
      (r) => rangeBytes(start, end, r.size),
      { key },
    );
  }

  /** A stream of bytes `start`..`end` (inclusive; the whole object when undefined) read from the open file. */
  async #read(
    operation: string,
    key: string,
    start: number | undefined,
    end: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GetResult> {
    const { handle, header } = await this.#openObject(key, operation);
    const info = headerToInfo(header);
    if (start !== undefined && start >= header.size) {
      await handle.close();
      throw new InvalidArgumentError(
        `${MESSAGE_PREFIX} ${operation}: the range start is not within the object`,
      );
    }
    if (header.size === 0) {
      await handle.close();
      return { ...info, body: Readable.from([]) };
    }
    const first = start ?? 0;
    const last = Math.min(end ?? header.size - 1, header.size - 1);
    const body = createReadStream('', { fd: handle, start: first, end: last, ...(signal ? { signal } : {}) });
    return { ...info, body: typedStreamErrors(body, (error) => this.#error(error, operation)) };
  }

  head(key: string): Promise<ObjectInfo> {
    return instrument(
      this.#source,
      'head',
      async () => {
        this.#assertOpen();
        validateKey(key);
        const { handle, header } = await this.#openObject(key, 'head');
        await handle.close();
        return headerToInfo(header);
      },
      undefined,
      { key },
    );
  }

  exists(key: string): Promise<boolean> {
    return instrument(
      this.#source,
      'exists',
      async () => {
        this.#assertOpen();
        validateKey(key);
        try {
          const { handle } = await this.#openObject(key, 'exists');
          await handle.close();
          return true;
        } catch (error) {
          if (isInfrastructureError(error, 'NOT_FOUND')) return false;
          throw error;
        }
      },
      undefined,
      { key },
    );
  }

  delete(key: string): Promise<void> {
    return instrument(
      this.#source,
      'delete',
      async () => {
        this.#assertOpen();
        validateKey(key);
        await this.#init();
        await this.#delete(key);
      },
      undefined,
      { key },
    );
  }

  /**
   * Unlinks the object file (a link planted in its place is removed as a link; its target is
   * never touched), then prunes the directories it leaves empty.
   */
  async #delete(key: string): Promise<void> {
    const where = objectPath(this.#objects, key);
    try {
      await this.#guard.check(where.dir, 'delete');
      await unlink(where.file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.#error(error, 'delete');
    }
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
    return instrument(
      this.#source,
      'deleteMany',
      async () => {
        this.#assertOpen();
        const checked = readKeyList(keys, (key) => {
          validateKey(key);
          return key;
        });
        await this.#init();
        const unique = [...new Set(checked)];
        // Batches of 16 at a time.
        for (let i = 0; i < unique.length; i += 16) {
          await Promise.all(unique.slice(i, i + 16).map((key) => this.#delete(key)));
        }
      },
      undefined,
      { keys },
    );
  }

  list(prefix?: string, options: ListOptions = {}): AsyncIterable<ListedObject> {
    return listObjects(
      this.#source,
      () => this.#assertOpen(),
      prefix,
      () => readListOptions(options),
      (wanted) => this.#list(wanted),
      (error) => this.#error(error, 'list'),
    );
  }

  async *#list(wanted: string): AsyncGenerator<ListedObject> {
    await this.#init();
    yield* walkObjects(this.#objects, Buffer.from(wanted, 'utf8'));
  }

  copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    return instrument(
      this.#source,
      'copy',
      async () => {
        this.#assertOpen();
        validateKey(fromKey, 'source key');
        validateKey(toKey, 'target key');
        const { handle, header } = await this.#openObject(fromKey, 'copy');
        // A copy onto itself is a no-op on every driver (S3 refuses a plain one): nothing changes.
        if (fromKey === toKey) {
          await handle.close();
          return headerToInfo(header);
        }
        const copied = await this.#write(toKey, 'copy', async (write) => {
          if (header.size > 0) {
            const source = createReadStream('', {
              fd: handle,
              start: 0,
              end: header.size - 1,
              autoClose: false,
            });
            for await (const chunk of source) await write(chunk as Buffer);
          }
          return { ...header, key: toKey, lastModified: Date.now() };
        }).finally(() => handle.close().catch(() => undefined));
        return headerToInfo(copied);
      },
      (r) => r.size,
      { key: toKey, sourceKey: fromKey },
    );
  }

  /** A URL for `createFsSignedUrlHandler` (needs the `signing` option; signing checks no object). */
  signedUrl(key: string, options?: SignedUrlOptions): Promise<string> {
    return instrument(
      this.#source,
      'signedUrl',
      async () => {
        this.#assertOpen();
        validateKey(key);
        if (this.#signer) return this.#signer.sign(key, options);
        throw storageError(
          'NOT_SUPPORTED',
          `${MESSAGE_PREFIX} the filesystem driver signs URLs only when created with the signing option ({ secret, baseUrl }), served by createFsSignedUrlHandler`,
        );
      },
      undefined,
      { key },
    );
  }

  /**
   * Removes what crashed processes left: temp files of unfinished puts last modified at least
   * `tempOlderThanMs` ago (default `staleTempMs`), and empty directories under `objects/`.
   * Safe while the storage is in use (by this process or others). Returns what it removed,
   * relative to the root.
   */
  async repair(options: FsRepairOptions = {}): Promise<FsRepairReport> {
    this.#assertOpen();
    if (options === null || typeof options !== 'object')
      throw invalidArgument('repair options must be an object');
    const olderThan = validateMs(options.tempOlderThanMs, 'tempOlderThanMs') ?? this.#staleTempMs;
    await this.#init();
    return {
      tempFiles: await sweepTempFiles(this.root, this.#tmp, olderThan),
      emptyDirectories: await pruneEmptyDirectories(this.root, this.#objects),
    };
  }
}

/** A filesystem `ObjectStorage` under `options.root`. */
export function createFsStorage(options: FsStorageOptions): FsStorage {
  return new FsStorage(options);
}

/** Same as {@link createFsStorage}, also taking just the root directory. */
export function createFileSystemStorage(root: string | FsStorageOptions): FsStorage {
  return new FsStorage(typeof root === 'string' ? { root } : root);
}
