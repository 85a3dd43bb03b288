import type { Dirent } from 'node:fs';
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Options of `FsStorage.repair`. */
export interface FsRepairOptions {
  /** Remove temp files last modified at least this long ago. Default: the storage's `staleTempMs`. */
  tempOlderThanMs?: number;
}

/** What `FsStorage.repair` removed, paths relative to the root with '/' separators. */
export interface FsRepairReport {
  /** Temp files of puts that never finished (a crash, a kill), older than the threshold. */
  tempFiles: string[];
  /** Empty directories under `objects/` (a crash between deleting an object and pruning). */
  emptyDirectories: string[];
}

/**
 * Removes entries of `tmpDir` last modified at least `olderThanMs` ago: what puts left behind
 * when their process died between writing and committing. A put still writing touches its temp
 * file with every chunk, so only a put stalled for longer than the threshold can lose its file
 * (it then fails; no object is damaged). Links are removed as links. Returns what was removed.
 */
export async function sweepTempFiles(
  root: string,
  tmpDir: string,
  olderThanMs: number,
  now = Date.now(),
): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(tmpDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const file = path.join(tmpDir, name);
    try {
      const stats = await lstat(file);
      if (stats.isDirectory() || now - stats.mtimeMs < olderThanMs) continue;
      await unlink(file);
      removed.push(relative(root, file));
    } catch {
      // Gone meanwhile (its put committed or failed): nothing to do.
    }
  }
  return removed;
}

/**
 * Removes empty directories under `dir` (not `dir` itself), deepest first, never following a
 * link. A put that has just made a directory and not yet moved its file in retries when the
 * directory vanishes, so this is safe while the storage is in use.
 */
export async function pruneEmptyDirectories(root: string, dir: string): Promise<string[]> {
  const removed: string[] = [];
  async function visit(current: string): Promise<boolean> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(current, { withFileTypes: true });
    } catch {
      return false;
    }
    let empty = true;
    for (const dirent of dirents) {
      if (dirent.isDirectory() && (await visit(path.join(current, dirent.name)))) continue;
      empty = false;
    }
    if (!empty || current === dir) return false;
    try {
      await rmdir(current);
      removed.push(relative(root, current));
      return true;
    } catch {
      return false;
    }
  }
  await visit(dir);
  return removed;
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}
