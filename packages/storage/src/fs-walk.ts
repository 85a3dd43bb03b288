import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isInfrastructureError, type ListedObject } from '@voelgoed/contracts';
import { CONTINUATION, OBJECT_SUFFIX, piecesToBytes } from './fs-key-path.js';
import { openObjectFile, readHeader } from './fs-object-file.js';

const SLASH = Buffer.from('/');
const EMPTY = Buffer.alloc(0);

interface Entry {
  sort: Buffer;
  rank: number;
  full: string;
  kind: 'file' | 'dir';
}

/**
 * The filesystem driver's listing: a depth-first walk of `dir` in key order (UTF-8 bytes),
 * yielding the objects whose key starts with `wanted`. `done` is the key so far (ending with
 * '/' or empty). Symbolic links are never followed, and files that are not object files of this
 * driver for the key their path encodes (stray, foreign or damaged files) are skipped.
 */
export async function* walkObjects(
  dir: string,
  wanted: Buffer,
  done: Buffer = EMPTY,
): AsyncGenerator<ListedObject> {
  const entries: Entry[] = [];
  await collectEntries(dir, wanted, done, '', entries);
  entries.sort((a, b) => Buffer.compare(a.sort, b.sort) || a.rank - b.rank);
  for (const entry of entries) {
    if (entry.kind === 'file') {
      const item = await listedObject(entry.full, entry.sort);
      if (item) yield item;
    } else {
      yield* walkObjects(entry.full, wanted, entry.sort);
    }
  }
}

/**
 * The entries of `dir` that can hold a key starting with `wanted`, with the keys (or key
 * prefixes) they stand for. A continuation directory (the first pieces of a long segment,
 * `pending` so far) is not an entry of its own: what it holds continues the segment, and its
 * keys interleave with its siblings' (`<piece>-` < `<piece>/…` < `<piece>0`), so its entries
 * join this directory's, to be sorted with them.
 */
async function collectEntries(
  dir: string,
  wanted: Buffer,
  done: Buffer,
  pending: string,
  entries: Entry[],
): Promise<void> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed meanwhile
    throw error;
  }
  for (const dirent of dirents) {
    const name = dirent.name;
    let kind: Entry['kind'] | 'cont';
    let stem: string;
    if (dirent.isFile() && name.endsWith(OBJECT_SUFFIX)) {
      kind = 'file';
      stem = name.slice(0, -OBJECT_SUFFIX.length);
    } else if (!dirent.isDirectory())
      continue; // links, stray files, sockets
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
    const full = path.join(dir, name);
    if (kind === 'cont') await collectEntries(full, wanted, done, pending + stem, entries);
    else entries.push({ sort: bytes, rank: kind === 'file' ? 0 : 1, full, kind });
  }
}

/** The listing entry of one object file, or undefined when it is gone or not a valid object for `key`. */
async function listedObject(file: string, key: Buffer): Promise<ListedObject | undefined> {
  let handle: Awaited<ReturnType<typeof openObjectFile>>;
  try {
    handle = await openObjectFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined; // deleted meanwhile, or a link
    throw error;
  }
  try {
    const header = await readHeader(handle, 'list');
    if (!Buffer.from(header.key, 'utf8').equals(key)) return undefined;
    return {
      key: header.key,
      size: header.size,
      etag: header.etag,
      lastModified: new Date(header.lastModified),
    };
  } catch (error) {
    if (isInfrastructureError(error, 'INTEGRITY')) return undefined;
    throw error;
  } finally {
    await handle.close();
  }
}
