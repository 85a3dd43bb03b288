import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createFsSignedUrlHandler, createFsStorage, type FsStorage } from '../src/index.js';
import { plain, removeRoots, SECRET, startServer, type TestServer, tempRoot } from './fs-signed-server.js';
import { bytes, getBytes } from './helpers.js';

let server: TestServer;
let storage: FsStorage;
const data = bytes(10_000, 3);
let url: string;
let etag: string;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => removeRoots());

async function serve(options: { maxObjectSize?: number } = {}): Promise<void> {
  storage = createFsStorage({
    root: tempRoot(),
    ...options,
    signing: { secret: SECRET, baseUrl: `${server.origin}/dl/` },
  });
  server.listener = plain(createFsSignedUrlHandler(storage));
  etag = (await storage.put('file.bin', data, { contentType: 'image/png', cacheControl: 'max-age=60' })).etag;
  url = await storage.signedUrl('file.bin');
}

async function get(headers: Record<string, string>, method = 'GET') {
  const response = await fetch(url, { method, headers });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

describe('the signed URL handler serving downloads', () => {
  it('answers a single range with 206 and Content-Range, byte-exact', async () => {
    await serve();
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      ['bytes=9990-', 9990, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=9000-999999', 9000, 9999],
      ['bytes=-999999', 0, 9999],
    ];
    for (const [range, start, end] of cases) {
      const { response, body } = await get({ range });
      expect([range, response.status]).toEqual([range, 206]);
      expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/10000`);
      expect(response.headers.get('content-length')).toBe(String(end - start + 1));
      expect(response.headers.get('content-type')).toBe('image/png');
      expect(body.equals(data.subarray(start, end + 1))).toBe(true);
    }
  });

  it('answers 416 for a range past the end, and the whole object for ranges it does not take', async () => {
    await serve();
    for (const range of ['bytes=10000-', 'bytes=20000-20010', 'bytes=-0']) {
      const { response } = await get({ range });
      expect([range, response.status]).toEqual([range, 416]);
      expect(response.headers.get('content-range')).toBe('bytes */10000');
    }
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-2', 'bytes=x-y', 'bytes=-']) {
      const { response, body } = await get({ range });
      expect([range, response.status]).toEqual([range, 200]);
      expect(body.equals(data)).toBe(true);
    }
  });

  it('applies a range only while If-Range still names the object', async () => {
    await serve();
    const lastModified = (await storage.head('file.bin')).lastModified.toUTCString();
    expect((await get({ range: 'bytes=0-9', 'if-range': `"${etag}"` })).response.status).toBe(206);
    expect((await get({ range: 'bytes=0-9', 'if-range': lastModified })).response.status).toBe(206);
    const stale = await get({ range: 'bytes=0-9', 'if-range': '"other"' });
    expect(stale.response.status).toBe(200);
    expect(stale.body.equals(data)).toBe(true);
    expect((await get({ range: 'bytes=0-9', 'if-range': `W/"${etag}"` })).response.status).toBe(200);
  });

  it('answers 304 when If-None-Match names the ETag, or nothing changed since If-Modified-Since', async () => {
    await serve();
    for (const inm of [`"${etag}"`, `W/"${etag}"`, `"a", "${etag}"`, '*']) {
      const { response, body } = await get({ 'if-none-match': inm });
      expect([inm, response.status]).toEqual([inm, 304]);
      expect(response.headers.get('etag')).toBe(`"${etag}"`);
      expect(response.headers.get('cache-control')).toBe('max-age=60');
      expect(body.length).toBe(0);
    }
    expect((await get({ 'if-none-match': '"stale"' })).response.status).toBe(200);
    const lastModified = (await storage.head('file.bin')).lastModified;
    expect((await get({ 'if-modified-since': lastModified.toUTCString() })).response.status).toBe(304);
    const earlier = new Date(lastModified.getTime() - 5000).toUTCString();
    expect((await get({ 'if-modified-since': earlier })).response.status).toBe(200);
    // If-None-Match decides when both are sent.
    const both = { 'if-none-match': '"stale"', 'if-modified-since': lastModified.toUTCString() };
    expect((await get(both)).response.status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    await serve();
    const { response, body } = await get({}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('10000');
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('etag')).toBe(`"${etag}"`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(body.length).toBe(0);
    const ranged = await get({ range: 'bytes=5-9' }, 'HEAD');
    expect(ranged.response.status).toBe(206);
    expect(ranged.response.headers.get('content-length')).toBe('5');
  });

  it('serves an empty object, and the content type a GET URL was signed with', async () => {
    await serve();
    await storage.put('empty', '');
    const empty = await fetch(await storage.signedUrl('empty'));
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-length')).toBe('0');
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
    const typed = await fetch(
      await storage.signedUrl('file.bin', { contentType: 'application/octet-stream' }),
    );
    expect(typed.headers.get('content-type')).toBe('application/octet-stream');
  });
});

describe('the signed URL handler taking uploads', () => {
  it('stores the body of a signed PUT with the signed content type, and refuses another type', async () => {
    await serve();
    const upload = bytes(70_000, 11);
    const putUrl = await storage.signedUrl('uploads/u.bin', {
      method: 'PUT',
      contentType: 'application/pdf',
    });
    const wrongType = await fetch(putUrl, {
      method: 'PUT',
      body: upload,
      headers: { 'content-type': 'text/html' },
    });
    expect(wrongType.status).toBe(403);
    expect(await storage.exists('uploads/u.bin')).toBe(false);
    const response = await fetch(putUrl, {
      method: 'PUT',
      body: upload,
      headers: { 'content-type': 'application/pdf' },
    });
    expect(response.status).toBe(200);
    const info = await storage.head('uploads/u.bin');
    expect(response.headers.get('etag')).toBe(`"${info.etag}"`);
    expect(info.contentType).toBe('application/pdf');
    expect((await getBytes(storage, 'uploads/u.bin')).equals(upload)).toBe(true);
  });

  it('takes a streamed body of unknown length, and any content type when none was signed', async () => {
    await serve();
    const putUrl = await storage.signedUrl('streamed', { method: 'PUT' });
    const parts = [bytes(5000, 1), bytes(7000, 2)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    const response = await fetch(putUrl, {
      method: 'PUT',
      body,
      duplex: 'half',
      headers: { 'content-type': 'text/csv' },
    } as RequestInit);
    expect(response.status).toBe(200);
    expect((await getBytes(storage, 'streamed')).equals(Buffer.concat(parts))).toBe(true);
    expect((await storage.head('streamed')).contentType).toBe('text/csv');
  });

  it('answers 413 for a body above maxObjectSize and stores nothing', async () => {
    await serve({ maxObjectSize: 20_000 });
    const putUrl = await storage.signedUrl('big', { method: 'PUT' });
    const response = await fetch(putUrl, { method: 'PUT', body: bytes(20_001) });
    expect(response.status).toBe(413);
    expect(await storage.exists('big')).toBe(false);
  });
});
