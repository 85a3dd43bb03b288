import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  checkObjectSize,
  isInfrastructureError,
  isPutBody,
  type PutBody,
  PutBodyReader,
  type PutBodyReaderOptions,
  throwIfSignalAborted,
} from '../src/index.js';

const P = '[voelgoed:test]';

async function readAll(body: PutBody, options: PutBodyReaderOptions = {}): Promise<Buffer> {
  const reader = new PutBodyReader(body, options, P);
  const chunks: Buffer[] = [];
  for await (const chunk of reader.chunks()) chunks.push(Buffer.from(chunk));
  reader.finish();
  expect(reader.bytes).toBe(Buffer.concat(chunks).length);
  return Buffer.concat(chunks);
}

async function codeOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    expect(isInfrastructureError(error)).toBe(true);
    expect((error as Error).message.startsWith(`${P} `)).toBe(true);
    return (error as { code: string }).code;
  }
  return 'resolved';
}

async function* chunksOf(...parts: unknown[]): AsyncGenerator<unknown> {
  for (const part of parts) yield part;
}

describe('isPutBody', () => {
  it.each([
    ['a string', 'x'],
    ['a Buffer', Buffer.from('x')],
    ['a Uint8Array', new Uint8Array([1])],
    ['a Readable', Readable.from(['x'])],
    ['an async generator', chunksOf('x')],
  ])('accepts %s', (_, body) => {
    expect(isPutBody(body)).toBe(true);
  });

  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['a sync array', ['x']],
    ['a plain object', { a: 1 }],
    [
      'a revoked Proxy',
      (() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      })(),
    ],
  ])('refuses %s', (_, body) => {
    expect(isPutBody(body)).toBe(false);
  });
});

describe('PutBodyReader', () => {
  it('reads strings, bytes, Readables and async iterables of string or byte chunks', async () => {
    expect((await readAll('héllo')).toString()).toBe('héllo');
    expect((await readAll(new Uint8Array([104, 105]))).toString()).toBe('hi');
    expect((await readAll(Readable.from([Buffer.from('a'), Buffer.from('b')]))).toString()).toBe('ab');
    expect((await readAll(chunksOf('a', new Uint8Array([98]), Buffer.from('c')) as PutBody)).toString()).toBe(
      'abc',
    );
  });

  it('gives a body in memory whole, without iterating, and checks it', () => {
    const reader = new PutBodyReader('four', { size: 4 }, P);
    expect(reader.inMemory?.toString()).toBe('four');
    expect(reader.readWhole()?.toString()).toBe('four');
    expect(new PutBodyReader(Readable.from(['x']), {}, P).readWhole()).toBeUndefined();
    expect(() => new PutBodyReader('four', { size: 5 }, P).readWhole()).toThrow(/5 were declared/);
  });

  it('checks its options and the body kind up front with INVALID_ARGUMENT', async () => {
    expect(await codeOf(async () => new PutBodyReader(42 as never, {}, P))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(async () => new PutBodyReader('x', { size: -1 }, P))).toBe('INVALID_ARGUMENT');
    expect(
      await codeOf(async () => new PutBodyReader('x', { checksum: { algorithm: 'md5', value: 'x' } }, P)),
    ).toBe('INVALID_ARGUMENT');
  });

  it('refuses chunks that are not bytes or strings', async () => {
    expect(await codeOf(() => readAll(chunksOf('a', 42) as PutBody))).toBe('INVALID_ARGUMENT');
  });

  it('a declared size that does not match is INTEGRITY, more bytes as soon as they arrive', async () => {
    expect(await codeOf(() => readAll(chunksOf('abc') as PutBody, { size: 4 }))).toBe('INTEGRITY');
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled += 1;
        yield Buffer.alloc(10);
      }
    }
    expect(await codeOf(() => readAll(endless(), { size: 25 }))).toBe('INTEGRITY');
    expect(pulled).toBe(3);
  });

  it('the size limit is PAYLOAD_TOO_LARGE as soon as it is passed', async () => {
    expect(await codeOf(() => readAll('12345', { maxBytes: 4 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(await readAll('1234', { maxBytes: 4 })).toEqual(Buffer.from('1234'));
    expect(await codeOf(() => readAll(chunksOf('12', '34', '5') as PutBody, { maxBytes: 4 }))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('checks a checksum in hex (either case) or base64 once the body is read', async () => {
    const data = Buffer.from('checked');
    const md5 = createHash('md5').update(data).digest();
    const sha = createHash('sha256').update(data).digest();
    await readAll(chunksOf('check', 'ed') as PutBody, {
      checksum: { algorithm: 'md5', value: md5.toString('hex') },
    });
    await readAll(data, { checksum: { algorithm: 'md5', value: md5.toString('hex').toUpperCase() } });
    await readAll(data, {
      checksum: { algorithm: 'sha256', value: sha.toString('base64'), encoding: 'base64' },
    });
    const wrong = createHash('md5').update('other').digest('hex');
    expect(await codeOf(() => readAll(data, { checksum: { algorithm: 'md5', value: wrong } }))).toBe(
      'INTEGRITY',
    );
  });

  it('a failing stream is INTEGRITY and is destroyed', async () => {
    let destroyed = false;
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk gone'));
      },
      destroy(error, callback) {
        destroyed = true;
        callback(error);
      },
    });
    expect(await codeOf(() => readAll(failing))).toBe('INTEGRITY');
    expect(destroyed).toBe(true);
  });

  it('an aborted signal is ABORTED, before reading and for a stalled stream', async () => {
    const before = new AbortController();
    before.abort();
    expect(await codeOf(() => readAll('x', { signal: before.signal }))).toBe('ABORTED');
    const later = new AbortController();
    const stalled = new Readable({ read() {} });
    stalled.push('a');
    setImmediate(() => later.abort());
    expect(await codeOf(() => readAll(stalled, { signal: later.signal }))).toBe('ABORTED');
    expect(stalled.destroyed).toBe(true);
  });
});

describe('checkObjectSize and throwIfSignalAborted', () => {
  it('refuse sizes past the limit and aborted signals', () => {
    expect(() => checkObjectSize(10, undefined, P)).not.toThrow();
    expect(() => checkObjectSize(10, 10, P)).not.toThrow();
    expect(() => checkObjectSize(11, 10, P)).toThrow(/larger than the limit of 10 bytes/);
    expect(() => throwIfSignalAborted(undefined, P)).not.toThrow();
    expect(() => throwIfSignalAborted(new AbortController().signal, P)).not.toThrow();
    expect(() => throwIfSignalAborted(AbortSignal.abort(), P)).toThrow(/aborted/);
  });
});
