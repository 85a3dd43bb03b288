import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runNodeChild, type S3Server, startS3, stopAll } from '@voelgoed/testkit';
import { createS3Storage, type S3Storage } from '../src/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PART = 8 * MiB;
const CONCURRENCY = 4;

let server: S3Server;
let bucket: string;
let storage: S3Storage;

beforeAll(async () => {
  server = await startS3();
  bucket = await server.createBucket();
  storage = createS3Storage({ ...server.clientOptions, bucket, partSize: PART, concurrency: CONCURRENCY });
});
afterAll(async () => {
  storage?.close();
  await server?.stop();
  await stopAll(); // a memory child still running after a failed test
});

interface Measured {
  bytes: number;
  sha256: string;
  baselineRss: number;
  peakRss: number;
  samples: number;
  /** Growth of the V8 heap and of Buffer memory at the RSS peak, MiB. */
  atPeak: { heapUsed: number; arrayBuffers: number };
}

/**
 * Runs one 1 GiB put or get in a child process (test/fixtures/memory-child.ts, on src/) and
 * returns what it measured. The child starts from a collected heap (--expose-gc, gc() after a
 * warm-up request) and runs with a 1 MiB young generation: with V8's default (up to 16 MiB per
 * semi-space) RSS would also hold tens of MiB of short-lived garbage, which says nothing about
 * the driver. RSS is sampled every 5 ms and after every MiB moved.
 */
function measure(op: 'put' | 'get', key: string): Promise<Measured> {
  const job = {
    op,
    // See GC_EVERY in the fixture: the download collects dead socket Buffers every 16 MiB.
    gcEvery: op === 'get',
    size: GiB,
    key,
    storage: { ...server.clientOptions, bucket, partSize: PART, concurrency: CONCURRENCY },
  };
  return runNodeChild<Measured>(path.join(__dirname, 'fixtures', 'memory-child.ts'), {
    config: job,
    nodeArgs: ['--expose-gc', '--max-semi-space-size=1'],
    name: `memory child (${op})`,
    timeoutMs: 600_000,
  });
}

describe('S3Storage with large objects and many keys', () => {
  it('a 1 GiB upload of unknown length and its download match their hash and stay within the memory bounds', async () => {
    const key = 'big/1gib.bin';
    const up = await measure('put', key);
    const down = await measure('get', key);
    const upGrowth = up.peakRss - up.baselineRss;
    const downGrowth = down.peakRss - down.baselineRss;
    const uploadBound = PART * (CONCURRENCY + 1) + 32 * MiB;
    const downloadBound = 64 * MiB;
    console.log(
      `[storage] 1 GiB on ${server.kind}: upload of unknown length grew RSS by ${(upGrowth / MiB).toFixed(1)} MiB ` +
        `(bound ${uploadBound / MiB} MiB = part ${PART / MiB} MiB × (concurrency ${CONCURRENCY} + 1) + 32 MiB; ` +
        `${up.samples} samples; at the peak ${JSON.stringify(up.atPeak)}); ` +
        `download by ${(downGrowth / MiB).toFixed(1)} MiB (bound ${downloadBound / MiB} MiB; ${down.samples} samples; ` +
        `at the peak ${JSON.stringify(down.atPeak)})`,
    );
    expect(up.bytes).toBe(GiB);
    expect(down.bytes).toBe(GiB);
    expect(down.sha256).toBe(up.sha256);
    // Raw minio putObject grows by ~513 MiB for 256 MiB; a driver that buffers, or lets parts pile
    // up faster than the server takes them, fails these.
    expect(upGrowth).toBeLessThanOrEqual(uploadBound);
    expect(downGrowth).toBeLessThanOrEqual(downloadBound);
    await storage.delete(key);
  }, 600_000);

  it('lists 10,000 keys lazily, page by page (a key added during the walk shows up in a later page)', async () => {
    const prefix = 'many/';
    const keys = Array.from({ length: 10_000 }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => storage.put(k, 'x')));
    }
    let count = 0;
    let previous = '';
    let addedLate = false;
    global.gc?.();
    const heapStart = process.memoryUsage().heapUsed;
    let heapPeak = heapStart;
    for await (const item of storage.list(prefix)) {
      expect(item.key > previous).toBe(true);
      previous = item.key;
      count++;
      if (count === 1) {
        // Only the first page is fetched yet: a key sorting last will be in a page still to come.
        await storage.put(`${prefix}zzz-added-during-listing`, 'late');
        addedLate = true;
      }
      if (count % 1000 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }
    expect(addedLate).toBe(true);
    expect(count).toBe(10_001);
    expect(previous).toBe(`${prefix}zzz-added-during-listing`);
    console.log(
      `[storage] listed 10,001 keys on ${server.kind}; heap growth while listing ${((heapPeak - heapStart) / MiB).toFixed(1)} MiB`,
    );
  }, 600_000);
});
