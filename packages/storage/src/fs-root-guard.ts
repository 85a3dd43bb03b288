import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { refusedLink } from './fs-errors.js';

/**
 * Keeps the filesystem driver inside its root when files inside it are hostile: a directory on
 * an object's path that is a symbolic link (or resolves anywhere but where the key maps) is
 * refused before anything is read, written or removed there, and missing directories are made
 * one level at a time, each checked with `lstat`, so `mkdir` never creates anything through a
 * planted link. The object file itself is opened with `O_NOFOLLOW` (see `fs-object-file.ts`);
 * `rename` and `unlink` act on a link, never on its target.
 *
 * What this guards against is links and files planted in the root before an operation. A
 * process that can write to the root while an operation runs can still race the check (Node
 * has no `openat`); such a process can write the files directly anyway.
 */
export class RootGuard {
  /** The directory every object lives under (`<root>/objects`), as configured. */
  readonly base: string;
  #realBase: string | undefined;

  constructor(base: string) {
    this.base = base;
  }

  /**
   * Checks that `dirs` (the base and its siblings such as `.tmp`) are real directories, not links.
   * Resolves the resolved base.
   */
  async init(operation: string, dirs: readonly string[]): Promise<string> {
    for (const dir of dirs) {
      const stats = await lstat(dir);
      if (!stats.isDirectory() || stats.isSymbolicLink()) throw refusedLink(operation);
    }
    const realBase = await realpath(this.base);
    this.#realBase = realBase;
    return realBase;
  }

  /**
   * Checks that `dir` (under the base) resolves to where it is expected, with no link on the
   * way. Rejects with the system error (`ENOENT`) when it does not exist.
   */
  async check(dir: string, operation: string): Promise<void> {
    const realBase = this.#realBase ?? (await realpath(this.base));
    const expected = path.join(realBase, path.relative(this.base, dir));
    if ((await realpath(dir)) !== expected) throw refusedLink(operation);
  }

  /** Makes sure `dir` (under the base) exists as a real directory, creating what is missing. */
  async ensure(dir: string, operation: string): Promise<void> {
    try {
      await this.check(dir, operation);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a file where a directory should be; the walk below refuses it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    let current = this.base;
    for (const component of path.relative(this.base, dir).split(path.sep)) {
      if (component === '') continue;
      current = path.join(current, component);
      try {
        await mkdir(current);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const stats = await lstat(current);
      if (!stats.isDirectory() || stats.isSymbolicLink()) throw refusedLink(operation);
    }
  }
}
