import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createFileSystemStorage, createFsStorage, type FsStorage } from '../src/index.js';
import { collect, failingAfter, getBytes } from './helpers.js';

let root: string;
let storage: FsStorage;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'voelgoed-fs-'));
  storage = createFsStorage({ root });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

describe('FsStorage', () => {
  it('refuses keys that would escape the root (../, absolute paths, NUL) with INVALID_ARGUMENT', async () => {
    const outside = path.join(root, '..', `escaped-${path.basename(root)}`);
    for (const key of ['../x', 'a/../../x', '/etc/passwd', `${outside}`, 'a\u0000b', '..', 'a/..']) {
      const error = await storage.put(key, 'evil').catch((e: unknown) => e);
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(existsSync(outside)).toBe(false);
    expect(files(root)).toEqual([]);
  });

  it('keeps every file of tricky keys inside root/objects (dots, backslashes, %, ~)', async () => {
    const keys = ['...', 'a\\..\\..\\b', '%2e%2e/x', '~/x', '.hidden/x..', '.o', '.m', 'x.d', 'y~'];
    for (const key of keys) await storage.put(key, key);
    for (const f of files(root)) expect(f.startsWith(`objects${path.sep}`)).toBe(true);
    for (const key of keys) expect((await getBytes(storage, key)).toString()).toBe(key);
    const listed = (await collect(storage.list())).map((o) => o.key);
    expect(listed).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('refuses dot and empty segments (./x, a/./b, a//b, a/) with INVALID_ARGUMENT, as S3 and memory do', async () => {
    await storage.put('a/b', 'original');
    for (const key of ['./x', 'a/./b', './a/b', 'a//b', 'a/', 'a/b/', '.']) {
      const error = (await storage.put(key, 'alias').catch((e: unknown) => e)) as Error;
      expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect(error.message).toMatch(/^\[voelgoed:storage\] object key must not contain/);
    }
    expect((await getBytes(storage, 'a/b')).toString()).toBe('original');
    expect(files(root)).toEqual([path.join('objects', 'a', 'b.o')]);
  });

  it('keeps each object in one file: its bytes, then its metadata', async () => {
    await storage.put('docs/a.txt', 'hi', { contentType: 'text/plain', metadata: { Who: 'me' } });
    expect(readdirSync(path.join(root, 'objects', 'docs'))).toEqual(['a%2Etxt.o']);
    const file = readFileSync(path.join(root, 'objects', 'docs', 'a%2Etxt.o'));
    expect(file.subarray(0, 2).toString()).toBe('hi');
    expect(file.subarray(-4).toString()).toBe('VGO1');
    expect(await storage.head('docs/a.txt')).toMatchObject({
      contentType: 'text/plain',
      metadata: { who: 'me' },
    });
  });

  it('writes atomically: a failed stream leaves no object and no temp file; a replaced object keeps one data file', async () => {
    await storage.put('k', 'old');
    const error = await storage.put('k', failingAfter(Buffer.alloc(100_000, 1))).catch((e: unknown) => e);
    expect(isInfrastructureError(error, 'INTEGRITY')).toBe(true);
    expect((await getBytes(storage, 'k')).toString()).toBe('old');
    expect(readdirSync(path.join(root, '.tmp'))).toEqual([]);
    await storage.put('k', 'new');
    expect((await getBytes(storage, 'k')).toString()).toBe('new');
    expect(files(root)).toEqual([path.join('objects', 'k.o')]);
  });

  it('lists in key (UTF-8 byte) order across directories, lazily, with a prefix', async () => {
    const keys = ['a-c', 'a/x', 'a/y/z', 'a0', 'b', 'z', 'é']; // UTF-8 byte order: 'é' (0xC3) after 'z'
    for (const key of [...keys].reverse()) await storage.put(key, key);
    expect((await collect(storage.list())).map((o) => o.key)).toEqual(keys);
    expect((await collect(storage.list('a/'))).map((o) => o.key)).toEqual(['a/x', 'a/y/z']);
    expect((await collect(storage.list('a', { limit: 2 }))).map((o) => o.key)).toEqual(['a-c', 'a/x']);
  });

  it('stores a 1024-byte key with a single 1000-byte segment (split into continuation directories)', async () => {
    const key = `p/${'k'.repeat(1022 - 2)}é`.slice(0, 1021);
    await storage.put(key, 'long');
    expect((await getBytes(storage, key)).toString()).toBe('long');
    expect((await collect(storage.list('p/'))).map((o) => o.key)).toEqual([key]);
    await storage.delete(key);
    expect(readdirSync(path.join(root, 'objects'))).toEqual([]);
  });

  it('signedUrl is not supported, with a clear NOT_SUPPORTED error', async () => {
    expect(storage.capabilities.signedUrl).toBe(false);
    await expect(storage.signedUrl('k')).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('ignores stray files and survives a corrupt root entry without escaping', async () => {
    const alt = createFileSystemStorage(root);
    await alt.put('a', '1');
    writeFileSync(path.join(root, 'objects', 'stray.d'), 'x');
    writeFileSync(path.join(root, 'objects', 'stray'), 'not a directory');
    writeFileSync(path.join(root, 'objects', 'b.o'), 'not an object file');
    expect((await collect(alt.list())).map((o) => o.key)).toEqual(['a']);
    await expect(alt.get('b')).rejects.toMatchObject({ code: 'INTEGRITY' });
  });
});
