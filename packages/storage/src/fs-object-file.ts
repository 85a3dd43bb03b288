import { constants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import type { ObjectInfo } from '@voelgoed/contracts';
import { damagedObject } from './fs-errors.js';

/**
 * The filesystem driver's object file: the object's bytes, then its metadata as JSON, then an
 * 8-byte trailer (the JSON's length as a 32-bit big-endian integer and the magic `VGO1`):
 *
 *     [bytes …][{"key":…,"size":…,"etag":…,…}][u32 length]["VGO1"]
 *
 * One file per object, so committing a put is one atomic `rename` over the previous file: a
 * reader that opened the old file keeps reading it whole, a new reader gets the new one, and no
 * interleaving of puts and deletes (in one process or many) can leave a data file that no
 * metadata names, or point metadata at a file outside the root. Nothing in the file names
 * another file.
 */
export interface ObjectHeader {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
  contentType?: string;
  cacheControl?: string;
  metadata: Record<string, string>;
}

const MAGIC = Buffer.from('VGO1', 'latin1');
const TRAILER_BYTES = 8;
/** Largest metadata JSON of an object file (S3 caps user metadata at 2 KB; keys at 1 KB). */
export const MAX_HEADER_BYTES = 1024 * 1024;
const ETAG = /^[0-9a-f]{32}$/;

/**
 * True when `header`'s metadata fits an object file whatever the size and etag will be
 * (checked before a put reads its body).
 */
export function headerFits(header: Omit<ObjectHeader, 'size' | 'etag'>): boolean {
  const widest = { ...header, size: Number.MAX_SAFE_INTEGER, etag: '0'.repeat(32) };
  return Buffer.byteLength(JSON.stringify(widest), 'utf8') <= MAX_HEADER_BYTES;
}

/** The bytes written after an object's data: its metadata and the trailer. */
export function encodeHeader(header: ObjectHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const trailer = Buffer.alloc(TRAILER_BYTES);
  trailer.writeUInt32BE(json.length, 0);
  MAGIC.copy(trailer, 4);
  return Buffer.concat([json, trailer]);
}

/** `open` flags that refuse a symbolic link as the last component (`ELOOP`). */
const NOFOLLOW: number = constants.O_NOFOLLOW ?? 0;

/**
 * Opens an object file for reading without following a symbolic link: a link planted in place
 * of an object file fails with `ELOOP` (checked with `lstat` first where the platform has no
 * `O_NOFOLLOW`). The directories above must have been checked by the caller.
 */
export async function openObjectFile(file: string): Promise<FileHandle> {
  if (NOFOLLOW === 0 && (await lstat(file)).isSymbolicLink()) {
    throw Object.assign(new Error(`ELOOP: symbolic link refused, open '${file}'`), {
      code: 'ELOOP',
      path: file,
    });
  }
  return open(file, constants.O_RDONLY | NOFOLLOW);
}

/**
 * Reads and checks the metadata of an open object file. Anything this driver did not write (no
 * trailer, a bad length, missing or mistyped fields, a size that does not match the file, or
 * `expectedKey` given and not the stored key) is an `IntegrityError`; the file is never trusted
 * to name another file.
 */
export async function readHeader(
  handle: FileHandle,
  operation: string,
  expectedKey?: string,
): Promise<ObjectHeader> {
  const stats = await handle.stat();
  if (!stats.isFile()) throw damagedObject(operation, 'not a regular file');
  const total = stats.size;
  if (total < TRAILER_BYTES) throw damagedObject(operation, 'no trailer');
  const trailer = Buffer.alloc(TRAILER_BYTES);
  await readExactly(handle, trailer, total - TRAILER_BYTES, operation);
  if (!trailer.subarray(4).equals(MAGIC)) throw damagedObject(operation, 'no trailer');
  const length = trailer.readUInt32BE(0);
  if (length > MAX_HEADER_BYTES || length > total - TRAILER_BYTES) {
    throw damagedObject(operation, 'bad metadata length');
  }
  const json = Buffer.alloc(length);
  await readExactly(handle, json, total - TRAILER_BYTES - length, operation);
  let header: unknown;
  try {
    header = JSON.parse(json.toString('utf8'));
  } catch {
    throw damagedObject(operation, 'metadata is not JSON');
  }
  if (!isHeader(header) || header.size !== total - TRAILER_BYTES - length) {
    throw damagedObject(operation, 'metadata does not describe the file');
  }
  if (expectedKey !== undefined && header.key !== expectedKey) {
    throw damagedObject(operation, 'it belongs to another key');
  }
  return header;
}

async function readExactly(handle: FileHandle, into: Buffer, position: number, operation: string) {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw damagedObject(operation, 'the file ended early');
    done += bytesRead;
  }
}

function isHeader(value: unknown): value is ObjectHeader {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const h = value as Record<string, unknown>;
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
  return (
    typeof h.key === 'string' &&
    h.key.length > 0 &&
    typeof h.size === 'number' &&
    Number.isSafeInteger(h.size) &&
    h.size >= 0 &&
    typeof h.etag === 'string' &&
    ETAG.test(h.etag) &&
    typeof h.lastModified === 'number' &&
    Number.isFinite(h.lastModified) &&
    optionalString(h.contentType) &&
    optionalString(h.cacheControl) &&
    h.metadata !== null &&
    typeof h.metadata === 'object' &&
    !Array.isArray(h.metadata) &&
    Object.values(h.metadata as object).every((v) => typeof v === 'string')
  );
}

/** The port's view of an object file's metadata. */
export function headerToInfo(h: ObjectHeader): ObjectInfo {
  const info: ObjectInfo = {
    key: h.key,
    size: h.size,
    etag: h.etag,
    lastModified: new Date(h.lastModified),
    metadata: { ...h.metadata },
  };
  if (h.contentType !== undefined) info.contentType = h.contentType;
  if (h.cacheControl !== undefined) info.cacheControl = h.cacheControl;
  return info;
}

/** Writes all of `chunk` at the handle's position. */
export async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
