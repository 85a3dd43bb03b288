import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createConformanceHttpHandler } from '../src/conformance.js';
import { FakeHttpClient, MemoryMetrics, MemoryObjectStorage } from '../src/memory.js';

// What the ObjectStorage, HttpClient and Metrics bad-input checks found in the memory twins.
const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
const { proxy, revoke } = Proxy.revocable({}, {});
revoke();

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('MemoryMetrics refuses what @voelgoed/telemetry refuses', () => {
  it('reserved label names: every name starting with __, and le on a histogram', () => {
    const metrics = new MemoryMetrics();
    for (const labelNames of [['__name__'], ['k', '__x'], ['__']]) {
      expect(
        thrown(() =>
          metrics.counter(`c${labelNames.length}${labelNames.at(-1)}`.replaceAll('_', 'u'), { labelNames }),
        ),
      ).toEqual(invalid);
    }
    expect(thrown(() => metrics.histogram('h', { labelNames: ['le'] }))).toEqual(invalid);
    expect(thrown(() => metrics.gauge('g', { labelNames: ['le', '_ok'] }))).toBeUndefined();
  });

  it('long descriptions and units, sparse or empty buckets, unreadable options and labels', () => {
    const metrics = new MemoryMetrics();
    const calls = [
      () => metrics.counter('a', { description: 'x'.repeat(1025) }),
      () => metrics.counter('b', { unit: 'u'.repeat(65) }),
      () => metrics.histogram('c', { buckets: new Array(2 ** 32 - 1) }),
      () => metrics.histogram('d', { buckets: [] }),
      () => metrics.counter('e', proxy as never),
      () => metrics.counter('f', { labelNames: ['k'] }).add(1, proxy as never),
    ];
    for (const call of calls) expect(thrown(call)).toEqual(invalid);
  });
});

describe('MemoryObjectStorage', () => {
  it('refuses look-alike signals and revoked-Proxy bodies, and ignores a throwing onProgress', async () => {
    const storage = new MemoryObjectStorage();
    const fake = { aborted: true, reason: 'x', addEventListener() {}, removeEventListener() {} };
    await expect(storage.put('k', 'x', { signal: fake as never })).rejects.toEqual(invalid);
    await expect(storage.get('k', { signal: fake as never })).rejects.toEqual(invalid);
    await expect(storage.put('k', proxy as never)).rejects.toEqual(invalid);
    await expect(storage.put('k', 'x', proxy as never)).rejects.toEqual(invalid);
    const onProgress = () => {
      throw new Error('progress bar crashed');
    };
    expect((await storage.put('k', 'hello', { onProgress })).size).toBe(5);
  });
});

describe('FakeHttpClient', () => {
  const client = () =>
    new FakeHttpClient({ baseUrl: 'http://fake.invalid', handler: createConformanceHttpHandler() });

  it('refuses timeouts past 2^31 - 1 ms and unreadable requests', async () => {
    const http = client();
    await expect(http.get('/echo', { timeoutMs: 2 ** 31 })).rejects.toEqual(invalid);
    await expect(http.get('/echo', { deadlineMs: 1e21 })).rejects.toEqual(invalid);
    await expect(http.request(proxy as never)).rejects.toEqual(invalid);
    await expect(http.get('/echo', { retry: { methods: new Array(2 ** 32 - 1) } })).rejects.toEqual(invalid);
  });

  it('gives INTEGRITY, not CONNECTION, for a body stream that fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('the source failed'));
      },
    });
    const integrity = expect.objectContaining({ code: 'INTEGRITY' });
    await expect(client().post('/echo', { body: failing })).rejects.toEqual(integrity);
    await expect(client().post('/echo', { body: Readable.from([{ a: 1 }]) })).rejects.toEqual(integrity);
  });
});
