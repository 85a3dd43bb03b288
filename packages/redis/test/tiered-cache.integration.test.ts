import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CacheCodec } from '@voelgoed/contracts';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds, polling every 10 ms; rejects after `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await sleep(10);
  }
}

/** A loader that resolves `value` once released; `started` resolves at its first call. */
function gated<T>(value: T) {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let begin: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    begin = resolve;
  });
  let calls = 0;
  const loader = async () => {
    calls++;
    begin();
    await gate;
    return value;
  };
  return { loader, started, release, calls: () => calls };
}

/** How many subscribers the invalidation channel of `namespace` has. */
async function subscribers(namespace: string): Promise<number> {
  const reply = (await client.command([
    'PUBSUB',
    'NUMSUB',
    `voelgoed:cache:${namespace}:invalidate`,
  ])) as unknown[];
  return Number(reply[1]);
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

  it('reloads a stale value once in the background, here and in a second instance reading it from Redis', async () => {
    let calls = 0;
    // ttlMs of a second, not 100 ms: a value a reload just stored must stay fresh until the
    // test has read it. With 100 ms, a loaded machine's stall between the reload and the next
    // read could make that value stale again and start a second, legitimate reload.
    const options = { ttlMs: 1000, jitter: 0, staleWhileRevalidateMs: 60_000 };
    const cache = makeCache<number>({ ...options, loader: async () => ++calls });
    const namespace = `ns${namespaceCounter}`;
    expect(await cache.get('s')).toBe(1);
    const writtenAt = Date.now();
    // Stale on both clocks: past ttlMs here, and Redis's copy in its last staleWhileRevalidateMs.
    const stale = async () =>
      Date.now() - writtenAt > 1050 && Number(await client.command(['PTTL', `${namespace}:s`])) < 59_950;
    await waitFor('the value to go stale', stale);
    // Stale: every caller gets the old value at once, and one reload runs.
    expect(await Promise.all(Array.from({ length: 20 }, () => cache.get('s')))).toEqual(Array(20).fill(1));
    await waitFor('the reload', async () => (await cache.get('s')) === 2);
    expect(calls).toBe(2);

    // A second instance (another process) meets the Redis copy in its stale window: it serves it
    // and reloads it once too.
    let peerCalls = 0;
    const peer = new TieredCache<number>(client, {
      namespace,
      ...options,
      loader: async () => 100 + ++peerCalls,
    });
    caches.push(peer as TieredCache<unknown>);
    const rewrittenAt = Date.now();
    await waitFor(
      'the reloaded value to go stale',
      async () =>
        Date.now() - rewrittenAt > 1050 && Number(await client.command(['PTTL', `${namespace}:s`])) < 59_950,
    );
    expect(await peer.get('s')).toBe(2);
    await waitFor('the peer reload', async () => (await peer.get('s')) === 101);
    expect(peerCalls).toBe(1);
    expect(await client.command(['GET', `${namespace}:s`])).toBe('101');
  });

  it("a reload does not overwrite another instance's write made while it ran (miss and stale reload)", async () => {
    const options = { ttlMs: 100, jitter: 0, staleWhileRevalidateMs: 60_000 };
    const here = makeCache<string>(options);
    const namespace = `ns${namespaceCounter}`;
    const there = new TieredCache<string>(client, { namespace, ...options });
    caches.push(there as TieredCache<unknown>);
    // A miss: the load started before the other instance's set.
    const miss = gated('loaded');
    const reading = here.get('m', miss.loader);
    await miss.started;
    await there.set('m', 'written there');
    miss.release();
    await reading;
    expect(await client.command(['GET', `${namespace}:m`])).toBe('"written there"');
    // A stale reload: it read the stale copy, the other instance writes, then it finishes.
    await here.set('r', 'old');
    const writtenAt = Date.now();
    await waitFor(
      'the value to go stale',
      async () =>
        Date.now() - writtenAt > 150 && Number(await client.command(['PTTL', `${namespace}:r`])) < 59_950,
    );
    const reload = gated('reloaded');
    expect(await here.get('r', reload.loader)).toBe('old');
    await reload.started;
    await there.set('r', 'written there');
    reload.release();
    await waitFor('the reload to end', async () => (await here.get('r')) !== 'old');
    expect(await client.command(['GET', `${namespace}:r`])).toBe('"written there"');
    expect(await here.get('r')).toBe('written there');
  });

  it('treats a value in Redis the codec cannot decode as a miss: undefined, or the loader replaces it', async () => {
    const cache = makeCache<{ n: number }>();
    const namespace = `ns${namespaceCounter}`;
    await client.command(['SET', `${namespace}:bad`, 'not json{']);
    expect(await cache.get('bad')).toBeUndefined();
    expect(await cache.get('bad', async () => ({ n: 1 }))).toEqual({ n: 1 });
    expect(await client.command(['GET', `${namespace}:bad`])).toBe('{"n":1}');
    expect(await cache.get('bad')).toEqual({ n: 1 });
  });

  it('refuses a codec without encode and decode, a bad l1.ttlMs and a namespace with a lone surrogate', () => {
    const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' });
    const make = (options: object) => new TieredCache(client, { namespace: 'n', ...options });
    for (const codec of [{}, 'json', { encode: () => '' }]) {
      expect(() => make({ codec: codec as unknown as CacheCodec<unknown> })).toThrow(invalid);
    }
    for (const ttlMs of [Number.NaN, -5, 0, '1000', Number.POSITIVE_INFINITY]) {
      expect(() => make({ l1: { ttlMs: ttlMs as number } })).toThrow(invalid);
    }
    expect(() => new TieredCache(client, { namespace: 'a\uD800' })).toThrow(invalid);
    expect(() => new TieredCache(client, { namespace: 'a\uDFFFb' })).toThrow(invalid);
    expect(make({ l1: { ttlMs: 1 }, codec: { encode: String, decode: String } })).toBeInstanceOf(TieredCache);
  });

  it('after close(), a set neither writes nor subscribes again', async () => {
    const cache = makeCache<string>();
    const namespace = `ns${namespaceCounter}`;
    await cache.set('k', 'v');
    expect(await subscribers(namespace)).toBe(1);
    await cache.close();
    expect(await subscribers(namespace)).toBe(0);
    await expect(cache.set('k', 'w')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(cache.start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await subscribers(namespace)).toBe(0);
    expect(await client.command(['GET', `${namespace}:k`])).toBe('"v"');
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

  it('invalidates the L1 entry of a second process soon after a write in this one (not at its 60 s TTL)', async () => {
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
      // 10 s, far short of the 60 s TTL: a loaded machine can hold the peer process back for
      // more than the 1 s this allowed.
      expect(await waitForLine('invalidated', 10_000)).toBe('invalidated written-here');
    } finally {
      peer.kill();
    }
  });
});

describe('TieredCache whose first call meets an unavailable server', () => {
  for (const fault of ['down', 'paused'] as const) {
    it(`works once a ${fault} server is back (the failed subscribe is tried again), with one subscription`, async () => {
      const own = await startRedis();
      // Short deadlines so that the first call fails soon on the stopped server; the connect
      // deadline is 2 s, not 500 ms, because ready() below must succeed on a loaded machine.
      const ownClient = createRedisClient({ url: own.url, commandTimeoutMs: 500, connectTimeoutMs: 2000 });
      const cache = new TieredCache<string>(ownClient, { namespace: 'sticky', loader: async () => 'v' });
      try {
        await ownClient.ready();
        if (fault === 'down') await own.kill();
        else own.pause();
        await expect(cache.get('k')).rejects.toMatchObject({ code: expect.any(String) });
        if (fault === 'down') await own.restart();
        else own.resume();
        let last: unknown;
        await waitFor(
          'the cache to work again',
          async () => {
            const values = await Promise.all([cache.get('k'), cache.get('k'), cache.get('k')]).catch(
              (error) => {
                last = error;
                return [];
              },
            );
            return values.length === 3 && values.every((v) => v === 'v');
          },
          15_000,
        ).catch((error) => {
          throw new Error(`${error.message}; last error: ${String(last)}`);
        });
        const reply = (await ownClient.command(['PUBSUB', 'NUMSUB', 'voelgoed:cache:sticky:invalidate'], {
          timeoutMs: 10_000,
        })) as unknown[];
        expect(Number(reply[1])).toBe(1);
      } finally {
        if (own.isPaused) own.resume();
        await cache.close();
        await ownClient.close();
      }
    }, 30_000);
  }
});
