import path from 'node:path';
import { MESSAGE_PREFIX, storageError } from './errors.js';

/**
 * How keys become paths under the filesystem driver's root. Every '/'-separated segment is
 * percent-encoded, '.' and '~' included, so that no path component can be '.', '..', empty,
 * hold a separator or a NUL, or end in the suffixes used below: a key cannot leave the root
 * whatever it holds. Segments become directories; the last one becomes `<name>.o`, the object
 * file (its bytes, then its metadata: see `fs-object-file.ts`). A segment whose encoding exceeds
 * {@link PIECE} characters is split into `<piece>~` directories, so that 1,024-byte keys fit in
 * 255-byte file names.
 */
export const PIECE = 200;

/** Suffix of object files (bytes and metadata in one file: the rename that commits it is atomic). */
export const OBJECT_SUFFIX = '.o';
/** Suffix of continuation directories (the first pieces of a long segment). */
export const CONTINUATION = '~';

const SPECIAL = /[.~!'()*]/g;

/** Percent-encodes one key segment ('' becomes '%'). */
export function encodeSegment(segment: string): string {
  if (segment === '') return '%';
  return encodeURIComponent(segment).replace(
    SPECIAL,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Splits an encoded segment into pieces of at most PIECE characters, never inside a `%XX`. */
export function splitPieces(encoded: string): string[] {
  const pieces: string[] = [];
  let rest = encoded;
  while (rest.length > PIECE) {
    let cut = PIECE;
    // Step back when the cut falls inside a %XX triplet.
    if (rest[cut - 1] === '%') cut -= 1;
    else if (rest[cut - 2] === '%') cut -= 2;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  pieces.push(rest);
  return pieces;
}

/** Where an object lives: its directory and its object file (`dir/<base>.o`). */
export interface ObjectPath {
  dir: string;
  base: string;
  file: string;
}

/** The directory and base name of `key` under `objectsRoot` (the key must be valid). */
export function objectPath(objectsRoot: string, key: string): ObjectPath {
  const components: string[] = [];
  let base = '';
  const segments = key.split('/');
  segments.forEach((segment, i) => {
    const pieces = splitPieces(encodeSegment(segment));
    let p = 0;
    for (const piece of pieces) {
      // The first pieces of a long segment are continuation directories; the last piece of the
      // last segment names the object file.
      if (++p < pieces.length) components.push(`${piece}${CONTINUATION}`);
      else if (i < segments.length - 1) components.push(piece);
      else base = piece;
    }
  });
  const dir = path.join(objectsRoot, ...components);
  // Defence in depth: the encoding makes this impossible, and it stays checked.
  const relative = path.relative(objectsRoot, path.join(dir, base));
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw storageError('FS_ERROR', `${MESSAGE_PREFIX} a key mapped outside the root`);
  }
  return { dir, base, file: path.join(dir, `${base}${OBJECT_SUFFIX}`) };
}

/** Percent-decodes pieces to bytes (pieces of one segment may split a UTF-8 sequence). */
export function piecesToBytes(encoded: string): Buffer {
  if (encoded === '%') return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c);
  }
  return Buffer.from(bytes);
}
