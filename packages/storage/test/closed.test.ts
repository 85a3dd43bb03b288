import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createFsSignedUrlHandler,
  createFsStorage,
  createMemoryStorage,
  isStorageError,
} from '../src/index.js';
import { plain, removeRoots, SECRET, startServer, type TestServer, tempRoot } from './fs-signed-server.js';
import { collect, getBytes } from './helpers.js';

// What the conformance suite's after-close check cannot see: the drivers' own extra methods, the
// store itself, and what a closed storage leaves alone (bodies handed out before close).
// The S3 driver's ensureBucket is in s3-storage.integration.test.ts.

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => removeRoots());

/** Resolves with the error `action` rejects (or throws) with; fails if it does not. */
async function refused(action: () => unknown): Promise<Error> {
  const error = await (async () => action())().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStorageError(error, 'INVALID_ARGUMENT')).toBe(true);
  expect((error as Error).message).toMatch(/the storage is closed/);
  return error as Error;
}

/** Every file under `dir`, relative to it, with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = readFileSync(file).toString('base64');
  }
  return out;
}

describe('a closed MemoryObjectStorage', () => {
  it('refuses fetchSigned and clear, keeps its objects, and a body read before close still reads', async () => {
    const storage = createMemoryStorage();
    await storage.put('a', 'kept');
    const url = await storage.signedUrl('a');
    const putUrl = await storage.signedUrl('b', { method: 'PUT' });
    const open = await storage.get('a');
    await storage.close();
    await refused(() => storage.fetchSigned(url));
    await refused(() => storage.fetchSigned(putUrl, { method: 'PUT', body: 'after close' }));
    await refused(() => storage.clear());
    expect(storage.size).toBe(1);
    expect((await collect(open.body)).map(String).join('')).toBe('kept');
  });
});

describe('a closed FsStorage', () => {
  it('refuses repair, changes no file, and a body read before close still reads', async () => {
    const root = tempRoot();
    const storage = createFsStorage({ root });
    await storage.put('a/b', 'kept');
    const open = await storage.get('a/b');
    const before = snapshot(root);
    await storage.close();
    await refused(() => storage.repair());
    await refused(() => storage.put('a/b', 'after close'));
    await refused(() => storage.delete('a/b'));
    await refused(() => storage.deleteMany(['a/b']));
    await refused(() => storage.copy('a/b', 'c'));
    expect(snapshot(root)).toEqual(before);
    expect((await collect(open.body)).map(String).join('')).toBe('kept');
    expect(await getBytes(createFsStorage({ root }), 'a/b')).toEqual(Buffer.from('kept'));
  });

  it('behind createFsSignedUrlHandler, answers 503 to GET, HEAD and PUT once closed', async () => {
    const root = tempRoot();
    const storage = createFsStorage({
      root,
      signing: { secret: SECRET, baseUrl: `${server.origin}/files/` },
    });
    server.listener = plain(createFsSignedUrlHandler(storage));
    await storage.put('a', 'kept');
    const getUrl = await storage.signedUrl('a');
    const putUrl = await storage.signedUrl('a', { method: 'PUT' });
    expect(await (await fetch(getUrl)).text()).toBe('kept');
    const before = snapshot(root);
    await storage.close();
    const got = await fetch(getUrl);
    expect({ status: got.status, body: await got.text() }).toEqual({
      status: 503,
      body: 'the storage is closed',
    });
    expect((await fetch(getUrl, { method: 'HEAD' })).status).toBe(503);
    const put = await fetch(putUrl, { method: 'PUT', body: 'after close' });
    expect(put.status).toBe(503);
    await put.arrayBuffer();
    expect(snapshot(root)).toEqual(before);
  });
});
