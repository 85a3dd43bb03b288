import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type S3Server, startS3 } from '@voelgoed/testkit';
import { createS3Storage, type S3Storage } from '../src/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PART = 8 * MiB;
const CONCURRENCY = 4;

let server: S3Server;
let storage: S3Storage;

beforeAll(async () => {
  server = await startS3();
  const bucket = await server.createBucket();
  storage = createS3Storage({ ...server.clientOptions, bucket, partSize: PART, concurrency: CONCURRENCY });
});
afterAll(async () => {
  storage?.close();
  await server?.stop();
});

/**
 * `total` bytes generated on the fly in 64 KiB chunks (each distinct), hashed into `hash` as they
 * are made. Chunks come from a ring of 16 buffers, so that the source itself makes no garbage:
 * RSS then measures the driver (which copies each chunk into a part buffer before asking for
 * the next), not the garbage collector's lag behind 1 GiB of discarded source chunks.
 */
function generated(total: number, hash: ReturnType<typeof createHash>): Readable {
  const seed = Buffer.alloc(64 * 1024);
  for (let i = 0; i < seed.length; i += 64) createHash('sha512').update(String(i)).digest().copy(seed, i);
  const ring = Array.from({ length: 16 }, () => Buffer.from(seed));
  let sent = 0;
  let n = 0;
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(seed.length, total - sent);
      const chunk = ring[n % ring.length]!.subarray(0, size);
      chunk.writeUInt32LE(n++, 0);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
}

/** Runs `fn` while sampling RSS; returns its result and the peak RSS growth over the start. */
async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  global.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

describe('S3Storage with large objects and many keys', () => {
  it('a 1 GiB upload of unknown length and its download match their hash and stay within the memory bound', async () => {
    const key = 'big/1gib.bin';
    const sent = createHash('sha256');
    const source = generated(GiB, sent);
    const up = await peakRssGrowth(() => storage.put(key, source));
    expect(up.result.size).toBe(GiB);
    const sentHash = sent.digest('hex');

    const received = createHash('sha256');
    const down = await peakRssGrowth(async () => {
      const { body, size } = await storage.get(key);
      expect(size).toBe(GiB);
      let bytes = 0;
      for await (const chunk of body) {
        received.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      return bytes;
    });
    expect(down.result).toBe(GiB);
    expect(received.digest('hex')).toBe(sentHash);

    const uploadBound = PART * (CONCURRENCY + 1) + 32 * MiB;
    console.log(
      `[storage] 1 GiB on ${server.kind}: upload peak RSS growth ${(up.growth / MiB).toFixed(1)} MiB ` +
        `(bound ${uploadBound / MiB} MiB = part ${PART / MiB} MiB × (concurrency ${CONCURRENCY} + 1) + 32 MiB); ` +
        `download peak RSS growth ${(down.growth / MiB).toFixed(1)} MiB (bound 64 MiB)`,
    );
    console.log(
      `[storage] within the issue's bounds: upload ${up.growth <= uploadBound ? 'yes' : 'NO'}, ` +
        `download ${down.growth <= 64 * MiB ? 'yes' : 'NO'} (RSS includes GC lag, so the assertion is looser)`,
    );
    // Asserted loosely (as the issue asks): RSS also moves with the garbage collector's timing.
    // Raw minio putObject grows by ~513 MiB for 256 MiB; a buffering driver fails this.
    expect(up.growth).toBeLessThan(256 * MiB);
    expect(down.growth).toBeLessThan(256 * MiB);
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
