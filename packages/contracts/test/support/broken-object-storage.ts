import type { Readable } from 'node:stream';
import { NotFoundError } from '../../src/errors.js';
import { MemoryObjectStorage } from '../../src/memory.js';
import type {
  GetResult,
  ListedObject,
  ListOptions,
  ObjectInfo,
  ObjectStorage,
  PutBody,
  PutOptions,
  PutResult,
  SignedUrlOptions,
} from '../../src/ports/storage.js';
import { validateObjectKey } from '../../src/validate-object-key.js';

/** Deliberate defects, each of which some conformance check must catch. */
export interface StorageDefects {
  /** put drops the last byte of the body. */
  truncate?: boolean;
  /** list ignores its prefix. */
  ignorePrefix?: boolean;
  /** list ignores its limit. */
  ignoreLimit?: boolean;
  /** bad keys are stored under an escaped name instead of being refused. */
  acceptBadKeys?: boolean;
  /** put ignores options.size. */
  ignoreSize?: boolean;
  /** put stores what it read before a body stream failed. */
  keepPartialUploads?: boolean;
  /** copy loses metadata and content type. */
  copyDropsMetadata?: boolean;
  /** getRange treats end as exclusive. */
  exclusiveRangeEnd?: boolean;
  /** delete of a missing object rejects with NOT_FOUND. */
  deleteMissingThrows?: boolean;
  /** metadata names are kept as given. */
  keepMetadataCase?: boolean;
}

async function bytesOf(body: PutBody): Promise<{ bytes: Buffer; error?: unknown }> {
  if (typeof body === 'string') return { bytes: Buffer.from(body) };
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body) };
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
  return { bytes: Buffer.concat(chunks) };
}

/** A MemoryObjectStorage with defects switched on: what the suite must refuse. */
export class BrokenObjectStorage implements ObjectStorage {
  readonly capabilities = { signedUrl: true };
  readonly inner = new MemoryObjectStorage();

  health() {
    return this.inner.health();
  }

  close() {
    return this.inner.close();
  }

  constructor(private readonly defects: StorageDefects) {}

  #key(key: string): string {
    if (!this.defects.acceptBadKeys) return key;
    try {
      validateObjectKey(key, 'x');
      return key;
    } catch {
      return `escaped/${Buffer.from(String(key)).toString('base64url').slice(0, 500) || 'empty'}`;
    }
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<PutResult> {
    let opts = options;
    if (this.defects.ignoreSize) opts = { ...opts, size: undefined };
    if (this.defects.keepMetadataCase && opts.metadata) {
      // Store upper-case names under a marker the inner store keeps, then restore them in head.
      opts = {
        ...opts,
        metadata: Object.fromEntries(Object.entries(opts.metadata).map(([k, v]) => [k, `${k}=${v}`])),
      };
    }
    if (this.defects.truncate || this.defects.keepPartialUploads) {
      const { bytes, error } = await bytesOf(body);
      if (error) {
        if (this.defects.keepPartialUploads) await this.inner.put(this.#key(key), bytes);
        throw error;
      }
      const stored = this.defects.truncate && bytes.length > 0 ? bytes.subarray(0, bytes.length - 1) : bytes;
      return this.inner.put(this.#key(key), stored, { ...opts, size: undefined });
    }
    return this.inner.put(this.#key(key), body, opts);
  }

  get(key: string, options?: { signal?: AbortSignal }): Promise<GetResult> {
    return this.inner.get(this.#key(key), options);
  }

  getRange(key: string, start: number, end: number, options?: { signal?: AbortSignal }): Promise<GetResult> {
    if (this.defects.exclusiveRangeEnd && end > start)
      return this.inner.getRange(this.#key(key), start, end - 1, options);
    return this.inner.getRange(this.#key(key), start, end, options);
  }

  async head(key: string): Promise<ObjectInfo> {
    const info = await this.inner.head(this.#key(key));
    if (!this.defects.keepMetadataCase) return info;
    const metadata = Object.fromEntries(
      Object.values(info.metadata).map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]),
    );
    return { ...info, metadata };
  }

  exists(key: string): Promise<boolean> {
    return this.inner.exists(this.#key(key));
  }

  async delete(key: string): Promise<void> {
    if (this.defects.deleteMissingThrows && !(await this.inner.exists(this.#key(key)))) {
      throw new NotFoundError('[broken] no such object');
    }
    return this.inner.delete(this.#key(key));
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    // Keys that are no array go through as they are: the inner storage refuses them.
    return this.inner.deleteMany(Array.isArray(keys) ? keys.map((k) => this.#key(k)) : keys);
  }

  list(prefix?: string, options?: ListOptions): AsyncIterable<ListedObject> {
    const opts = this.defects.ignoreLimit ? {} : options;
    return this.inner.list(this.defects.ignorePrefix ? undefined : prefix, opts);
  }

  async copy(fromKey: string, toKey: string): Promise<ObjectInfo> {
    if (!this.defects.copyDropsMetadata) return this.inner.copy(this.#key(fromKey), this.#key(toKey));
    const source = await this.inner.get(this.#key(fromKey));
    await this.inner.put(this.#key(toKey), source.body as Readable);
    return this.inner.head(this.#key(toKey));
  }

  signedUrl(key: string, options?: SignedUrlOptions): Promise<string> {
    return this.inner.signedUrl(this.#key(key), options);
  }
}
