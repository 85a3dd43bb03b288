import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createFsStorage, type FsStorage } from '../src/index.js';
import { collect, getBytes } from './helpers.js';

let base: string;
let root: string;
let outside: string;
let storage: FsStorage;

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-hostile-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'objects'), { recursive: true });
  mkdirSync(outside);
  storage = createFsStorage({ root });
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** Every entry under `dir` (files, links, directories), relative, sorted. */
function entries(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((name) => String(name))
    .sort();
}

async function failure(action: () => Promise<unknown>): Promise<Error> {
  const error = await action().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isInfrastructureError(error)).toBe(true);
  return error as Error;
}

/** The error, its cause chain and every property, as text: no absolute path of the host may appear. */
/**
 * An error and its causes as data, every own property but `stack`: stack frames name the test's
 * own files (under the temporary directory when the repository was cloned there), which is not
 * what the driver put in its errors.
 */
function withoutStacks(value: unknown, seen = new Set<unknown>()): unknown {
  if (!(value instanceof Error) || seen.has(value)) return value;
  seen.add(value);
  const out: Record<string, unknown> = { name: value.name, message: value.message };
  for (const key of Object.getOwnPropertyNames(value)) {
    if (key !== 'stack') out[key] = withoutStacks((value as unknown as Record<string, unknown>)[key], seen);
  }
  return out;
}

function expectNoPaths(error: Error): void {
  const text = `${inspect(withoutStacks(error), { depth: 10, showHidden: true })} ${JSON.stringify(error)}`;
  expect(text).not.toContain(base);
  expect(text).not.toContain(os.tmpdir() + path.sep);
}

/** A valid object file outside the root, written by a storage rooted there. */
async function outsideObject(key: string, body: string): Promise<string> {
  const other = createFsStorage({ root: outside });
  await other.put(key, body);
  return path.join(outside, 'objects', `${key}.o`);
}

describe('FsStorage with hostile files inside its root', () => {
  it('a directory symlinked out of the root: put, get, head, list and delete never touch its target', async () => {
    const target = await outsideObject('victim', 'secret outside the root');
    symlinkSync(path.join(outside, 'objects'), path.join(root, 'objects', 'link'), 'dir');
    const before = entries(outside);
    for (const action of [
      () => storage.put('link/evil', 'written through a link'),
      () => storage.put('link/sub/evil', 'written through a link'),
      () => storage.get('link/victim'),
      () => storage.head('link/victim'),
      () => storage.delete('link/victim'),
      () => storage.copy('link/victim', 'stolen'),
    ]) {
      const error = await failure(action);
      expect(error).toMatchObject({ code: 'FS_ERROR' });
      expectNoPaths(error);
    }
    expect(await collect(storage.list())).toEqual([]);
    expect(entries(outside)).toEqual(before);
    expect(readFileSync(target).subarray(0, 23).toString()).toBe('secret outside the root');
    expect(existsSync(path.join(root, 'objects', 'stolen.o'))).toBe(false);
  });

  it('an object file that is a symlink out of the root is not read; delete removes the link, not its target', async () => {
    const target = await outsideObject('victim', 'secret outside the root');
    symlinkSync(target, path.join(root, 'objects', 'victim.o'));
    const error = await failure(() => storage.get('victim'));
    expect(error).toMatchObject({ code: 'FS_ERROR' });
    expectNoPaths(error);
    await expect(storage.exists('victim')).rejects.toMatchObject({ code: 'FS_ERROR' });
    expect(await collect(storage.list())).toEqual([]);
    await storage.delete('victim');
    expect(existsSync(path.join(root, 'objects', 'victim.o'))).toBe(false);
    expect(readFileSync(target).subarray(0, 23).toString()).toBe('secret outside the root');
    // A put over a planted link replaces the link; the target is not written.
    symlinkSync(target, path.join(root, 'objects', 'victim.o'));
    await storage.put('victim', 'mine');
    expect((await getBytes(storage, 'victim')).toString()).toBe('mine');
    expect(readFileSync(target).subarray(0, 23).toString()).toBe('secret outside the root');
  });

  it('a forged sidecar naming a file outside the root: get does not read it, delete does not remove it', async () => {
    const secret = path.join(outside, 'secret.txt');
    writeFileSync(secret, 'secret outside the root');
    const forged = {
      key: 'forged',
      size: 23,
      etag: '0'.repeat(32),
      lastModified: Date.now(),
      metadata: {},
      data: path.relative(path.join(root, 'objects'), secret),
    };
    writeFileSync(path.join(root, 'objects', 'forged.m'), JSON.stringify(forged));
    writeFileSync(path.join(root, 'objects', 'forged.o'), JSON.stringify(forged));
    const error = await failure(() => getBytes(storage, 'forged'));
    expect(error).toMatchObject({ code: 'INTEGRITY' });
    expect(error.message).not.toContain('secret');
    expectNoPaths(error);
    expect(await collect(storage.list())).toEqual([]);
    await storage.delete('forged');
    expect(readFileSync(secret, 'utf8')).toBe('secret outside the root');
    expect(entries(path.join(root, 'objects'))).toEqual(['forged.m']);
  });

  it('an object file copied under another key is refused (INTEGRITY) and not listed', async () => {
    await storage.put('mine', 'private');
    copyFileSync(path.join(root, 'objects', 'mine.o'), path.join(root, 'objects', 'theirs.o'));
    await expect(storage.get('theirs')).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(storage.head('theirs')).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect((await collect(storage.list())).map((o) => o.key)).toEqual(['mine']);
  });

  it('objects/ or .tmp/ replaced by a symlink out of the root: nothing is written there', async () => {
    rmSync(path.join(root, 'objects'), { recursive: true });
    symlinkSync(outside, path.join(root, 'objects'), 'dir');
    const error = await failure(() => storage.put('k', 'v'));
    expect(error).toMatchObject({ code: 'FS_ERROR' });
    expectNoPaths(error);
    expect(entries(outside)).toEqual([]);

    const other = path.join(base, 'root2');
    mkdirSync(path.join(other, 'objects'), { recursive: true });
    symlinkSync(outside, path.join(other, '.tmp'), 'dir');
    await expect(createFsStorage({ root: other }).put('k', 'v')).rejects.toMatchObject({ code: 'FS_ERROR' });
    expect(entries(outside)).toEqual([]);
  });

  it('errors carry no absolute path, in the message or the cause', async () => {
    // A file where the key's directory should be.
    writeFileSync(path.join(root, 'objects', 'a'), 'in the way');
    const put = await failure(() => storage.put('a/b', 'v'));
    expectNoPaths(put);
    // A directory where the object file should be.
    mkdirSync(path.join(root, 'objects', 'dir.o'));
    const get = await failure(() => storage.get('dir'));
    expectNoPaths(get);
    const cause = (get as Error & { cause?: { path?: string } }).cause;
    if (cause?.path !== undefined) expect(path.isAbsolute(cause.path)).toBe(false);
    expectNoPaths(await failure(() => storage.put('dir', 'v')));
    // A root that cannot be made (a file on its path).
    writeFileSync(path.join(base, 'file'), 'x');
    expectNoPaths(
      await failure(() => createFsStorage({ root: path.join(base, 'file', 'root') }).put('k', 'v')),
    );
    expectNoPaths(await failure(() => getBytes(storage, 'missing')));
  });
});
