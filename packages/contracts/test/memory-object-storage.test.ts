import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { Channels, isInfrastructureError, type StorageOperationEvent, subscribe } from '../src/index.js';
import { ManualClock, MemoryObjectStorage } from '../src/memory.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function codeOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (isInfrastructureError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('MemoryObjectStorage signed URLs', () => {
  it('are memory:// URLs that fetchSigned resolves until they expire', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const storage = new MemoryObjectStorage({ clock });
    await storage.put('docs/a.txt', 'hello');
    const url = await storage.signedUrl('docs/a.txt', { expiresInS: 60 });
    expect(url.startsWith('memory://memory/')).toBe(true);
    expect(url).not.toContain('docs/a.txt');
    const ok = await storage.fetchSigned(url);
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('hello');
    clock.advance(59_000);
    expect((await storage.fetchSigned(url)).status).toBe(200);
    clock.advance(1000);
    const expired = await storage.fetchSigned(url);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toMatch(/expired/);
  });

  it('cap the lifetime at 7 days and default to 900 s', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const storage = new MemoryObjectStorage({ clock });
    await storage.put('k', 'v');
    const long = await storage.signedUrl('k', { expiresInS: 30 * 24 * 3600 });
    const short = await storage.signedUrl('k');
    clock.advance(899_000);
    expect((await storage.fetchSigned(short)).status).toBe(200);
    clock.advance(1000);
    expect((await storage.fetchSigned(short)).status).toBe(403);
    clock.set(Date.UTC(2026, 0, 8) - 1000);
    expect((await storage.fetchSigned(long)).status).toBe(200);
    clock.advance(1000);
    expect((await storage.fetchSigned(long)).status).toBe(403);
  });

  it('refuse tampered URLs, other methods, other instances and other content types (403)', async () => {
    const storage = new MemoryObjectStorage();
    await storage.put('a', 'A');
    await storage.put('b', 'B');
    const url = await storage.signedUrl('a');
    const otherKey = url.replace(/memory\/[^?]+/, `memory/${Buffer.from('b').toString('base64url')}`);
    expect((await storage.fetchSigned(otherKey)).status).toBe(403);
    expect(
      (await storage.fetchSigned(url.replace(/x-method=GET/, 'x-method=PUT'), { method: 'PUT' })).status,
    ).toBe(403);
    expect((await storage.fetchSigned(url, { method: 'PUT', body: 'x' })).status).toBe(403);
    expect((await new MemoryObjectStorage().fetchSigned(url)).status).toBe(403);
    const put = await storage.signedUrl('c', { method: 'PUT', contentType: 'text/csv' });
    expect(
      (await storage.fetchSigned(put, { method: 'PUT', body: 'x', contentType: 'text/plain' })).status,
    ).toBe(403);
    expect(await storage.exists('c')).toBe(false);
    expect(
      (await storage.fetchSigned(put, { method: 'PUT', body: 'x', contentType: 'text/csv' })).status,
    ).toBe(200);
    expect((await storage.head('c')).contentType).toBe('text/csv');
  });

  it('answer 404 for a missing object and refuse URLs that are not theirs with INVALID_ARGUMENT', async () => {
    const storage = new MemoryObjectStorage({ bucket: 'files' });
    expect((await storage.fetchSigned(await storage.signedUrl('missing'))).status).toBe(404);
    expect(await codeOf(() => storage.fetchSigned('https://example.com/x'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => storage.fetchSigned('memory://other/x'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => storage.fetchSigned('not a url'))).toBe('INVALID_ARGUMENT');
  });
});

describe('MemoryObjectStorage limits and options', () => {
  it('rejects objects over maxObjectSize with PAYLOAD_TOO_LARGE and stores nothing', async () => {
    const storage = new MemoryObjectStorage({ maxObjectSize: 10 });
    expect(await codeOf(() => storage.put('a', 'x'.repeat(11)))).toBe('PAYLOAD_TOO_LARGE');
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(4));
      },
    });
    expect(await codeOf(() => storage.put('b', endless))).toBe('PAYLOAD_TOO_LARGE');
    expect(endless.destroyed).toBe(true);
    expect(pulled).toBeLessThan(10);
    expect(await codeOf(() => storage.put('c', Readable.from([]), { size: 11 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(storage.size).toBe(0);
    await storage.put('d', 'x'.repeat(10));
    expect(storage.size).toBe(1);
  });

  it('aborts a put whose stream stalls when the signal aborts', async () => {
    const storage = new MemoryObjectStorage();
    const stalled = new Readable({ read() {} });
    stalled.push('partial');
    const controller = new AbortController();
    const pending = storage.put('k', stalled, { signal: controller.signal });
    setImmediate(() => controller.abort());
    expect(await codeOf(() => pending)).toBe('ABORTED');
    expect(await storage.exists('k')).toBe(false);
  });

  it('takes lastModified from its clock and gives MD5 etags', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
    const storage = new MemoryObjectStorage({ clock });
    const put = await storage.put('k', 'hello');
    expect(put.etag).toBe('5d41402abc4b2a76b9719d911017c592');
    expect((await storage.head('k')).lastModified.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    clock.advance(5000);
    expect((await storage.copy('k', 'k2')).lastModified.toISOString()).toBe('2026-06-01T12:00:05.000Z');
  });

  it('lists in UTF-8 byte order, as S3 does (not UTF-16 order)', async () => {
    const storage = new MemoryObjectStorage({ pageSize: 1 });
    const keys = ['p/\u{1F600}', 'p/\uFFFD', 'p/a', 'p/Z'];
    for (const key of keys) await storage.put(key, key);
    const listed: string[] = [];
    for await (const item of storage.list('p/')) listed.push(item.key);
    expect(listed).toEqual(['p/Z', 'p/a', 'p/\uFFFD', 'p/\u{1F600}']);
  });

  it('refuses bad metadata, content types and constructor options with INVALID_ARGUMENT', async () => {
    const storage = new MemoryObjectStorage();
    expect(await codeOf(() => storage.put('k', 'v', { metadata: { 'bad name': 'x' } }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => storage.put('k', 'v', { metadata: { ok: 'line\nbreak' } }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(() => storage.put('k', 'v', { contentType: 'text/plain\r\nx: y' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      await codeOf(() => storage.put('k', 'v', { checksum: { algorithm: 'md5', value: 'not-hex' } })),
    ).toBe('INVALID_ARGUMENT');
    expect(await codeOf(async () => new MemoryObjectStorage({ maxObjectSize: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(async () => new MemoryObjectStorage({ pageSize: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(async () => new MemoryObjectStorage({ bucket: 'Bad Bucket' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(storage.size).toBe(0);
  });

  it('names a refused key as the S3 and filesystem drivers do: object, source and target key', async () => {
    const storage = new MemoryObjectStorage();
    await storage.put('k', 'v');
    const messageOf = async (action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        if (isInfrastructureError(error, 'INVALID_ARGUMENT')) return error.message;
        throw error;
      }
      throw new Error('expected a rejection');
    };
    expect(await messageOf(() => storage.get('a//b'))).toMatch(
      /^\[voelgoed:contracts\] MemoryObjectStorage: object key /,
    );
    expect(await messageOf(() => storage.copy('a//b', 'k2'))).toMatch(/ source key /);
    expect(await messageOf(() => storage.copy('k', 'a//b'))).toMatch(/ target key /);
    expect(await storage.exists('k2')).toBe(false);
  });

  it('clear() empties the store', async () => {
    const storage = new MemoryObjectStorage();
    await storage.put('a', '1');
    await storage.put('b', '2');
    expect(storage.size).toBe(2);
    storage.clear();
    expect(storage.size).toBe(0);
    expect(await storage.exists('a')).toBe(false);
  });
});

describe('MemoryObjectStorage events', () => {
  it('publishes voelgoed:storage:operation without keys', async () => {
    const events: StorageOperationEvent[] = [];
    const off = subscribe(Channels.storageOperation, (event) => events.push(event));
    try {
      const storage = new MemoryObjectStorage({ bucket: 'evt' });
      await storage.put('secret/customer-42.pdf', 'abc');
      await codeOf(() => storage.get('missing/customer-43.pdf'));
      for await (const _ of storage.list('secret/')) {
        // drain
      }
      (await storage.get('secret/customer-42.pdf')).body.destroy();
    } finally {
      off();
    }
    expect(events.map((e) => [e.operation, e.outcome, e.errorCode])).toEqual([
      ['put', 'ok', undefined],
      ['get', 'error', 'NOT_FOUND'],
      ['list', 'ok', undefined],
      ['get', 'ok', undefined],
    ]);
    expect(events[0]).toMatchObject({ driver: 'memory', bucket: 'evt', bytes: 3 });
    expect(JSON.stringify(events)).not.toContain('customer');
  });
});

describe('MemoryObjectStorage in business code', () => {
  // The kind of code the port is for: it only knows ObjectStorage.
  async function archiveReport(storage: import('../src/index.js').ObjectStorage, id: string, csv: string) {
    const key = `reports/${id}.csv`;
    await storage.put(key, csv, { contentType: 'text/csv', metadata: { report: id } });
    return storage.signedUrl(key, { expiresInS: 3600 });
  }

  it('runs unchanged against the memory implementation', async () => {
    const storage = new MemoryObjectStorage();
    const url = await archiveReport(storage, '2026-01', 'a,b\n1,2\n');
    expect((await storage.fetchSigned(url)).body.toString()).toBe('a,b\n1,2\n');
    expect((await storage.head('reports/2026-01.csv')).metadata).toEqual({ report: '2026-01' });
    expect(await text((await storage.getRange('reports/2026-01.csv', 4, 6)).body)).toBe('1,2');
  });
});
