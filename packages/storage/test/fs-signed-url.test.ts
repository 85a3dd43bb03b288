import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isInfrastructureError } from '@voelgoed/contracts';
import { createFsSignedUrlHandler, createFsStorage, type FsStorage, isStorageError } from '../src/index.js';
import {
  plain,
  rawRequest,
  removeRoots,
  SECRET,
  startServer,
  type TestServer,
  tempRoot,
} from './fs-signed-server.js';
import { bytes } from './helpers.js';

let server: TestServer;
let root: string;
let storage: FsStorage;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => removeRoots());

/** A storage signing for the test server under `/files/`, served by the handler. */
function serveStorage(secret: string | string[] = SECRET): FsStorage {
  root = tempRoot();
  storage = createFsStorage({ root, signing: { secret, baseUrl: `${server.origin}/files/` } });
  server.listener = plain(createFsSignedUrlHandler(storage));
  return storage;
}

async function invalid(action: () => unknown): Promise<Error> {
  const error = await (async () => action())().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isInfrastructureError(error, 'INVALID_ARGUMENT')).toBe(true);
  return error as Error;
}

describe('FsStorage signedUrl and createFsSignedUrlHandler', () => {
  it('round-trips binary bytes exactly, with the stored content type, length, ETag and Last-Modified', async () => {
    serveStorage();
    const data = bytes(300_000, 7);
    const put = await storage.put('reports/2026/q1.bin', data, { contentType: 'application/x-report' });
    const url = await storage.signedUrl('reports/2026/q1.bin', { expiresInS: 60 });
    expect(url.startsWith(`${server.origin}/files/reports/2026/q1.bin?expires=`)).toBe(true);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-report');
    expect(response.headers.get('content-length')).toBe(String(data.length));
    expect(response.headers.get('etag')).toBe(`"${put.etag}"`);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    const info = await storage.head('reports/2026/q1.bin');
    expect(response.headers.get('last-modified')).toBe(info.lastModified.toUTCString());
    expect(Buffer.from(await response.arrayBuffer()).equals(data)).toBe(true);
  });

  it('signs keys with spaces, unicode and URL delimiters, and serves them', async () => {
    serveStorage();
    const keys = [
      'my docs/ticket 42 ✓.pdf',
      'ü/日本語/ファイル',
      'a?b#c/%41&x=1+y',
      'back\\slash/~tilde!(x)*',
      '...x/.y',
    ];
    for (const [i, key] of keys.entries()) {
      await storage.put(key, `body ${i}`);
      const url = await storage.signedUrl(key);
      expect(url).not.toMatch(/[ #\\]|[^\x21-\x7e]/);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`body ${i}`);
    }
  });

  it('answers 403 once the URL has expired', async () => {
    serveStorage();
    await storage.put('soon-gone', 'x');
    const url = await storage.signedUrl('soon-gone', { expiresInS: 1 });
    const expires = Number(new URL(url).searchParams.get('expires'));
    while (Date.now() < expires * 1000) await new Promise((r) => setTimeout(r, 50));
    const response = await fetch(url);
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('request has expired');
  });

  it('answers 403 for a tampered signature, key, expiry or content type', async () => {
    serveStorage();
    await storage.put('a/one', 'one');
    await storage.put('a/two', 'two');
    const url = new URL(await storage.signedUrl('a/one', { expiresInS: 600 }));
    const signature = url.searchParams.get('signature')!;
    const tampered: string[] = [];
    // Every position, the last one included (its spare bits must not let two spellings pass).
    for (let i = 0; i < signature.length; i++) {
      const swapped = signature[i] === 'A' ? 'B' : 'A';
      const u = new URL(url);
      u.searchParams.set('signature', signature.slice(0, i) + swapped + signature.slice(i + 1));
      tampered.push(u.href);
    }
    const otherKey = new URL(url);
    otherKey.pathname = '/files/a/two';
    const later = new URL(url);
    later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
    const typed = new URL(url);
    typed.searchParams.set('content-type', 'text/html');
    tampered.push(otherKey.href, later.href, typed.href);
    for (const href of tampered) {
      const response = await fetch(href);
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('signature does not match');
    }
    expect((await fetch(url)).status).toBe(200);
  });

  it('answers 400 for a malformed signature or expiry, or a missing or repeated parameter', async () => {
    serveStorage();
    await storage.put('k', 'v');
    const url = new URL(await storage.signedUrl('k'));
    const variants: Array<(u: URL) => void> = [
      (u) => u.searchParams.delete('signature'),
      (u) => u.searchParams.delete('expires'),
      (u) => u.searchParams.set('signature', 'not base64url!'),
      (u) => u.searchParams.set('signature', `${u.searchParams.get('signature')}A`),
      (u) => u.searchParams.set('expires', '-1'),
      (u) => u.searchParams.set('expires', '1e12'),
      (u) => u.searchParams.append('expires', u.searchParams.get('expires')!),
      (u) => u.searchParams.append('signature', u.searchParams.get('signature')!),
    ];
    for (const change of variants) {
      const u = new URL(url);
      change(u);
      expect((await fetch(u)).status).toBe(400);
    }
  });

  it('refuses other methods with 405 and the method not signed with 403', async () => {
    serveStorage();
    await storage.put('m', 'v');
    const getUrl = await storage.signedUrl('m');
    for (const method of ['POST', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(getUrl, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD, PUT');
    }
    expect((await fetch(getUrl, { method: 'PUT', body: 'overwrite' })).status).toBe(403);
    const putUrl = await storage.signedUrl('m', { method: 'PUT' });
    expect((await fetch(putUrl)).status).toBe(403);
    expect((await storage.get('m')).size).toBe(1);
  });

  it('answers 404 for a validly signed URL of a missing object, and for paths outside its base', async () => {
    serveStorage();
    const response = await fetch(await storage.signedUrl('never/written'));
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('no such object');
    expect((await fetch(`${server.origin}/elsewhere/x`)).status).toBe(404);
    expect((await fetch(`${server.origin}/files`)).status).toBe(404);
  });

  it('never leaves the root: dot segments, encoded slashes and dots, NUL and bad escapes are 400', async () => {
    serveStorage();
    // A file beside the objects directory that a traversal would reach.
    writeFileSync(path.join(root, 'secret.o'), 'top secret');
    await storage.put('a/b', 'inside');
    const query = new URL(await storage.signedUrl('a/b')).search;
    const paths = [
      '/files/../secret',
      '/files/a/../../secret',
      '/files/%2e%2e/secret',
      '/files/a/%2E%2E/%2e%2e/secret',
      '/files/a%2Fb',
      '/files/a%2fb',
      '/files/./a/b',
      '/files/a//b',
      '/files//etc/passwd',
      '/files/a/b/',
      '/files/a%00b',
      '/files/%E0%A4%A',
      '/files/%',
      '/files/',
    ];
    for (const p of paths) {
      const response = await rawRequest(server.origin, `${p}${query}`);
      expect([p, response.status]).toEqual([p, 400]);
      expect(response.body.toString()).toBe('malformed object key');
    }
    // '/files/a%2Fb' decoded to the signed key would be the same object: still refused.
    expect((await rawRequest(server.origin, `/files/a/b${query}`)).status).toBe(200);
  });

  it('accepts URLs signed with any listed secret and signs with the first (rotation)', async () => {
    const oldSecret = 'o'.repeat(32);
    const newSecret = Buffer.alloc(40, 7);
    serveStorage(oldSecret);
    await storage.put('rotating', 'r');
    const oldUrl = await storage.signedUrl('rotating');
    const baseUrl = `${server.origin}/files/`;
    const rotated = createFsStorage({ root, signing: { secret: [newSecret, oldSecret], baseUrl } });
    server.listener = plain(createFsSignedUrlHandler(rotated));
    expect((await fetch(oldUrl)).status).toBe(200);
    const newUrl = await rotated.signedUrl('rotating');
    expect((await fetch(newUrl)).status).toBe(200);
    // Signed with the new secret: a server holding only the old one refuses it.
    server.listener = plain(createFsSignedUrlHandler({ root, signing: { secret: oldSecret, baseUrl } }));
    expect((await fetch(newUrl)).status).toBe(403);
    expect((await fetch(oldUrl)).status).toBe(200);
    // The old secret retired.
    server.listener = plain(createFsSignedUrlHandler({ root, signing: { secret: [newSecret], baseUrl } }));
    expect((await fetch(oldUrl)).status).toBe(403);
    expect((await fetch(newUrl)).status).toBe(200);
  });

  it('calls next() outside its base path and reads originalUrl when mounted (Express, Connect)', async () => {
    serveStorage();
    await storage.put('mounted/x', 'mounted');
    const handler = createFsSignedUrlHandler(storage);
    const passed: string[] = [];
    server.listener = (req, res) => {
      // What Express does for app.use('/files', handler): url relative to the mount, originalUrl whole.
      const original = req.url ?? '/';
      if (original.startsWith('/files/')) {
        Object.assign(req, { originalUrl: original, url: original.slice('/files'.length) });
      }
      handler(req, res, (error?: unknown) => {
        passed.push(error === undefined ? original : 'error');
        res.end('fell through');
      });
    };
    const response = await fetch(await storage.signedUrl('mounted/x'));
    expect(await response.text()).toBe('mounted');
    expect(await (await fetch(`${server.origin}/other`)).text()).toBe('fell through');
    expect(passed).toEqual(['/other']);
  });

  it('serves under another path prefix with basePath (a proxy that rewrites paths)', async () => {
    serveStorage();
    await storage.put('p', 'proxied');
    server.listener = plain(createFsSignedUrlHandler(storage, { basePath: '/internal/blobs' }));
    const signed = new URL(await storage.signedUrl('p'));
    const response = await fetch(`${server.origin}/internal/blobs/p${signed.search}`);
    expect(await response.text()).toBe('proxied');
    expect((await fetch(signed)).status).toBe(404);
  });

  it('answers 500 (or passes the error to next) for a damaged object file, without paths or secrets', async () => {
    serveStorage();
    await storage.put('damaged', 'fine');
    const objects = path.join(root, 'objects');
    writeFileSync(path.join(objects, readdirSync(objects)[0]!), 'not an object file');
    const url = await storage.signedUrl('damaged');
    const response = await fetch(url);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toBe('internal error');
    const errors: unknown[] = [];
    const handler = createFsSignedUrlHandler(storage);
    server.listener = (req, res) =>
      handler(req, res, (error) => {
        errors.push(error);
        res.end();
      });
    await (await fetch(url)).arrayBuffer();
    expect(isInfrastructureError(errors[0], 'INTEGRITY')).toBe(true);
    const message = (errors[0] as Error).message;
    expect(message).not.toContain(root);
    expect(message).not.toContain(SECRET);
  });
});

describe('signing options', () => {
  it('reports signedUrl as NOT_SUPPORTED without signing, naming the option', async () => {
    const plainStorage = createFsStorage({ root: tempRoot() });
    expect(plainStorage.capabilities.signedUrl).toBe(false);
    const error = (await plainStorage.signedUrl('x').catch((e: unknown) => e)) as Error;
    expect(isStorageError(error, 'NOT_SUPPORTED')).toBe(true);
    expect(error.message).toContain('signing option ({ secret, baseUrl })');
    expect(error.message).toContain('createFsSignedUrlHandler');
    const withSigning = createFsStorage({
      root: tempRoot(),
      signing: { secret: SECRET, baseUrl: 'http://x/' },
    });
    expect(withSigning.capabilities.signedUrl).toBe(true);
  });

  it('refuses bad signing options at construction with INVALID_ARGUMENT, never echoing the secret', async () => {
    const root = tempRoot();
    const baseUrl = 'https://files.example.com/d/';
    const short = 's'.repeat(31);
    const bad: unknown[] = [
      null,
      'secret',
      { baseUrl },
      { secret: short, baseUrl },
      { secret: new Uint8Array(31), baseUrl },
      { secret: [], baseUrl },
      { secret: [SECRET, short], baseUrl },
      { secret: 42, baseUrl },
      { secret: SECRET },
      { secret: SECRET, baseUrl: '/relative/' },
      { secret: SECRET, baseUrl: 'ftp://files.example.com/' },
      { secret: SECRET, baseUrl: 'https://user:pw@files.example.com/' },
      { secret: SECRET, baseUrl: 'https://files.example.com/?a=1' },
      { secret: SECRET, baseUrl: 'https://files.example.com/#x' },
      { secret: SECRET, baseUrl, maxExpiresInS: 0 },
      { secret: SECRET, baseUrl, maxExpiresInS: 1.5 },
    ];
    for (const signing of bad) {
      const error = await invalid(() => createFsStorage({ root, signing: signing as never }));
      expect(error.message).not.toContain(short);
    }
    await invalid(() => createFsSignedUrlHandler(createFsStorage({ root })));
    await invalid(() => createFsSignedUrlHandler({ root }));
    const signing = { secret: SECRET, baseUrl };
    await invalid(() => createFsSignedUrlHandler({ root, signing }, { basePath: 'no-slash' }));
  });

  it('checks signedUrl options as S3 does and caps the lifetime at maxExpiresInS', async () => {
    const s = createFsStorage({
      root: tempRoot(),
      signing: { secret: SECRET, baseUrl: 'https://files.example.com/d', maxExpiresInS: 3600 },
    });
    for (const expiresInS of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60']) {
      await invalid(() => s.signedUrl('k', { expiresInS: expiresInS as number }));
    }
    await invalid(() => s.signedUrl('k', { method: 'DELETE' as never }));
    await invalid(() => s.signedUrl('k', { contentType: 'bad\ntype' }));
    await invalid(() => s.signedUrl('../k'));
    const before = Math.floor(Date.now() / 1000);
    const url = new URL(await s.signedUrl('k', { expiresInS: 999_999 }));
    expect(url.origin + url.pathname).toBe('https://files.example.com/d/k');
    const bare = createFsStorage({ root: tempRoot(), signing: { secret: SECRET, baseUrl: 'http://h/x/?#' } });
    expect((await bare.signedUrl('k')).startsWith('http://h/x/k?expires=')).toBe(true);
    const expires = Number(url.searchParams.get('expires'));
    expect(expires).toBeGreaterThanOrEqual(before + 3600);
    expect(expires).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
    expect(url.href).not.toContain(SECRET);
  });
});
