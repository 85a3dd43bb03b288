import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisClient, type RedisClient } from '../src/index.js';
import { TieredCache } from '../src/tiered-cache.js';

let server: RedisServer;
let client: RedisClient;
const caches: TieredCache<unknown>[] = [];
let namespaceCounter = 0;

function makeCache<T>(
  options: Partial<ConstructorParameters<typeof TieredCache<T>>[1]> = {},
): TieredCache<T> {
  const cache = new TieredCache<T>(client, { namespace: `ns${++namespaceCounter}`, ...options });
  caches.push(cache as TieredCache<unknown>);
  return cache;
}

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient(server.url);
  await client.ready();
});

afterAll(async () => {
  await Promise.all(caches.map((c) => c.close()));
  await client?.close();
  await stopAll();
});

describe('TieredCache', () => {
  it('calls the loader exactly once for 1,000 concurrent gets of a missing key', async () => {
    let calls = 0;
    const cache = makeCache<{ n: number }>({
      loader: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return { n: 42 };
      },
    });
    const values = await Promise.all(Array.from({ length: 1000 }, () => cache.get('hot')));
    expect(calls).toBe(1);
    expect(values.every((v) => v?.n === 42)).toBe(true);
  });

  it('serves from L1, then from Redis (L2) in a fresh instance, before calling the loader', async () => {
    let calls = 0;
    const loader = async () => {
      calls++;
      return `value-${calls}`;
    };
    const first = makeCache<string>({ loader });
    expect(await first.get('k')).toBe('value-1');
    expect(await first.get('k')).toBe('value-1');
    expect(first.hasLocal('k')).toBe(true);
    const namespace = `ns${namespaceCounter}`;
    const second = new TieredCache<string>(client, { namespace, loader });
    caches.push(second as TieredCache<unknown>);
    expect(await second.get('k')).toBe('value-1');
    expect(calls).toBe(1);
  });

  it('stores TTL with jitter in Redis, within [ttl, ttl * (1 + jitter)]', async () => {
    const cache = makeCache<string>({ ttlMs: 10_000, jitter: 0.5, loader: async () => 'v' });
    await cache.get('j');
    const pttl = Number(await client.command(['PTTL', `ns${namespaceCounter}:j`]));
    expect(pttl).toBeGreaterThan(9_000);
    expect(pttl).toBeLessThanOrEqual(15_000);
  });

  it('serves a stale value while one background refresh runs', async () => {
    let calls = 0;
    const cache = makeCache<number>({
      ttlMs: 50,
      jitter: 0,
      staleWhileRevalidateMs: 10_000,
      loader: async () => ++calls,
    });
    expect(await cache.get('s')).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    // Stale: both callers get the old value at once; one refresh is started.
    await client.command(['DEL', `ns${namespaceCounter}:s`]);
    expect(await Promise.all([cache.get('s'), cache.get('s')])).toEqual([1, 1]);
    // The refresh runs in the background: wait for it (bounded), then check it ran once only.
    for (let i = 0; i < 200 && calls < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(2);
    expect(await cache.get('s')).toBe(2);
  });

  it('returns undefined without a loader and caches nothing for undefined', async () => {
    const cache = makeCache<string>();
    expect(await cache.get('nothing')).toBeUndefined();
    expect(await cache.get('nothing', async () => undefined)).toBeUndefined();
    expect(cache.hasLocal('nothing')).toBe(false);
  });

  it('rejects bad input with INVALID_ARGUMENT', async () => {
    const cache = makeCache<string>();
    await expect(cache.get('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(cache.set('k', 'v', -1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => new TieredCache(client, { namespace: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('invalidates the L1 entry of a second process within 1 s of a write in this one', async () => {
    const namespace = `cross${Date.now()}`;
    const cache = new TieredCache<string>(client, { namespace, loader: async () => 'from-loader' });
    caches.push(cache as TieredCache<unknown>);
    await cache.start();
    const peer = spawn(
      process.execPath,
      [path.join(__dirname, 'fixtures', 'cache-peer.cjs'), server.url, namespace],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    peer.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const lines: string[] = [];
    const waitForLine = (prefix: string, timeoutMs: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => l.startsWith(prefix));
          if (line) {
            clearTimeout(timer);
            peer.stdout.off('data', onData);
            resolve(line);
          }
        };
        const onData = () => check();
        const timer = setTimeout(
          () => reject(new Error(`no "${prefix}" from the peer within ${timeoutMs} ms: ${stderr}`)),
          timeoutMs,
        );
        peer.stdout.on('data', onData);
        check();
      });
    peer.stdout.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    try {
      expect(await waitForLine('ready', 10_000)).toBe('ready from-peer-loader');
      await cache.set('k', 'written-here');
      // The peer re-reads after invalidation and sees the new value from Redis.
      expect(await waitForLine('invalidated', 1000)).toBe('invalidated written-here');
    } finally {
      peer.kill();
    }
  });
});
