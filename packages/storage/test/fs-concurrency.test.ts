import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createFsStorage, type FsStorage, isStorageError } from '../src/index.js';
import { bytes, chunks, getBytes } from './helpers.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-race-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every regular file under `dir`, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe('FsStorage under concurrent puts and deletes of one key', () => {
  it('20 rounds of 50 concurrent puts and deletes (two storages on one root) leave exactly the live object’s file', async () => {
    // Two storages on one root stand for two processes: they share nothing but the directory.
    const first = createFsStorage({ root });
    const second = createFsStorage({ root });
    const key = 'dir/sub/key';
    const objectFile = path.join('objects', 'dir', 'sub', 'key.o');
    const values = Array.from({ length: 50 }, (_, i) => bytes(2000 + i * 97, i + 1));
    for (let round = 0; round < 20; round++) {
      const reads: Promise<void>[] = [];
      const ops = values.map((value, i) => {
        const storage = i % 2 === 0 ? first : second;
        // Every third operation deletes; the order differs each round.
        if ((i + round) % 3 === 0) return storage.delete(key);
        if ((i + round) % 7 === 0) {
          // A reader sees a whole value or nothing, never a torn one.
          reads.push(
            getBytes(storage, key).then(
              (got) => expect(values.some((v) => v.equals(got))).toBe(true),
              (error: unknown) => expect(isInfrastructureError(error, 'NOT_FOUND')).toBe(true),
            ),
          );
        }
        return storage.put(key, i % 4 === 1 ? chunks(value, 333) : value);
      });
      await Promise.all([...ops, ...reads]);
      const live = await first.exists(key);
      expect(files(root)).toEqual(live ? [objectFile] : []);
      if (live) {
        const stored = await getBytes(second, key);
        expect(values.some((v) => v.equals(stored))).toBe(true);
      }
    }
    await first.delete(key);
    expect(files(root)).toEqual([]);
  });

  it('a failed or aborted put among concurrent ones leaves no file behind', async () => {
    const storage = createFsStorage({ root });
    const controller = new AbortController();
    const puts = Array.from({ length: 20 }, (_, i) =>
      storage
        .put(
          'k',
          bytes(5000, i + 1),
          i % 5 === 0 ? { size: 1 } : i % 5 === 1 ? { signal: controller.signal } : {},
        )
        .catch((error: unknown) => {
          expect(isInfrastructureError(error)).toBe(true);
        }),
    );
    controller.abort();
    await Promise.all(puts);
    expect(files(root)).toEqual([path.join('objects', 'k.o')]);
  });
});

describe('FsStorage leftovers of a crash', () => {
  function plantTemp(name: string, ageMs: number): void {
    const tmp = path.join(root, '.tmp');
    mkdirSync(tmp, { recursive: true });
    const file = path.join(tmp, name);
    writeFileSync(file, 'half an object');
    const when = new Date(Date.now() - ageMs);
    utimesSync(file, when, when);
  }

  it('the first operation removes temp files older than staleTempMs, and keeps newer ones', async () => {
    plantTemp('1-crashed', 2 * 3_600_000);
    plantTemp('2-in-flight', 0);
    const storage = createFsStorage({ root });
    await storage.put('k', 'v');
    expect(readdirSync(path.join(root, '.tmp'))).toEqual(['2-in-flight']);
  });

  it('repair() removes stale temp files and empty directories, and says what it removed', async () => {
    const storage: FsStorage = createFsStorage({ root, staleTempMs: 60_000 });
    await storage.put('kept/object', 'v');
    plantTemp('3-crashed', 120_000);
    plantTemp('4-fresh', 0);
    mkdirSync(path.join(root, 'objects', 'empty', 'deeper'), { recursive: true });
    const report = await storage.repair();
    expect(report).toEqual({
      tempFiles: ['.tmp/3-crashed'],
      emptyDirectories: ['objects/empty/deeper', 'objects/empty'],
    });
    expect(files(root)).toEqual([path.join('.tmp', '4-fresh'), path.join('objects', 'kept', 'object.o')]);
    expect(await storage.repair({ tempOlderThanMs: 0 })).toEqual({
      tempFiles: ['.tmp/4-fresh'],
      emptyDirectories: [],
    });
    expect((await getBytes(storage, 'kept/object')).toString()).toBe('v');
    await expect(storage.repair({ tempOlderThanMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => createFsStorage({ root, staleTempMs: Number.NaN })).toThrow(/staleTempMs/);
  });

  it('a put whose temp file a repair removed fails FS_ERROR saying so (not NOT_FOUND), and stores nothing', async () => {
    const storage = createFsStorage({ root });
    let repaired!: () => void;
    const afterRepair = new Promise<void>((resolve) => {
      repaired = resolve;
    });
    let started!: () => void;
    const writing = new Promise<void>((resolve) => {
      started = resolve;
    });
    async function* body() {
      yield Buffer.from('first part');
      started();
      await afterRepair; // the temp file is removed meanwhile, as a repair() elsewhere would
      yield Buffer.from('second part');
    }
    const put = storage.put('interrupted', body()).then(
      () => undefined,
      (e: unknown) => e,
    );
    await writing;
    // The temp file, made old (an mtime from the same millisecond would not count as stale).
    const temps = readdirSync(path.join(root, '.tmp'));
    expect(temps).toHaveLength(1);
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(root, '.tmp', temps[0]!), old, old);
    expect((await storage.repair({ tempOlderThanMs: 1_000 })).tempFiles).toHaveLength(1);
    repaired();
    const error = await put;
    expect(isStorageError(error, 'FS_ERROR')).toBe(true);
    expect((error as Error).message).toContain('temporary file was removed');
    expect(await storage.exists('interrupted')).toBe(false);
  });
});
