import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeKeyValueStore } from '@voelgoed/contracts/conformance';
import { startRedis, startRedisCluster, stopAll } from '@voelgoed/testkit';
import { createRedisClient, createRedisKeyValueStore, hashTag, type RedisClient } from '../src/index.js';

// One client per deployment for the whole file; each test gets a store with a key prefix of its
// own, so tests never see each other's keys.
let standalone: RedisClient;
let cluster: RedisClient;

beforeAll(async () => {
  const [server, nodes] = await Promise.all([startRedis(), startRedisCluster()]);
  standalone = createRedisClient({ url: server.url });
  cluster = createRedisClient({ cluster: { nodes: nodes.seeds.slice(0, 1) } });
  await Promise.all([standalone.ready(), cluster.ready()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([standalone?.close(), cluster?.close()]);
  await stopAll();
});

describeKeyValueStore('RedisKeyValueStore on a standalone server', () =>
  createRedisKeyValueStore(standalone, { keyPrefix: `t:${randomUUID()}:` }),
);

describeKeyValueStore('RedisKeyValueStore on a Cluster', () =>
  createRedisKeyValueStore(cluster, { keyPrefix: `t:${randomUUID()}:` }),
);

describe('RedisKeyValueStore specifics', () => {
  it('keeps keys under its prefix', async () => {
    const prefix = `p:${randomUUID()}:`;
    const store = createRedisKeyValueStore(standalone, { keyPrefix: prefix });
    await store.set('a', '1');
    expect(await standalone.command(['GET', `${prefix}a`])).toBe('1');
  });

  it('in a Cluster, spreads multi-key calls over slots and keeps hash-tagged ones in one command', async () => {
    const store = createRedisKeyValueStore(cluster);
    const keys = Array.from({ length: 12 }, (_, i) => `spread:${randomUUID()}:${i}`);
    await store.mset(Object.fromEntries(keys.map((k) => [k, k])), { ttlMs: 60_000 });
    expect(await store.mget(keys)).toEqual(keys);
    expect(await store.delete(...keys)).toBe(keys.length);
    const tag = hashTag(randomUUID());
    const tagged = [`${tag}:a`, `${tag}:b`];
    await store.mset([
      [tagged[0]!, 'x'],
      [tagged[1]!, 'y'],
    ]);
    expect(await store.mget(tagged)).toEqual(['x', 'y']);
    expect(await store.delete(...tagged, `${tag}:missing`)).toBe(2);
  });

  it('incr with ttlMs sets the TTL only when it creates the key (atomically, in Lua)', async () => {
    const store = createRedisKeyValueStore(standalone);
    const key = `incr:${randomUUID()}`;
    expect(await store.incr(key, { by: 2, ttlMs: 60_000 })).toBe(2);
    await store.expire(key, 120_000);
    expect(await store.incr(key, { ttlMs: 1_000 })).toBe(3);
    expect(await store.ttl(key)).toBeGreaterThan(60_000);
  });

  it('a lone surrogate in a key or value is INVALID_ARGUMENT: as UTF-8 it would name the U+FFFD key', async () => {
    const prefix = `s:${randomUUID()}:`;
    const store = createRedisKeyValueStore(standalone, { keyPrefix: prefix });
    await store.set('n\ufffd', 'neighbour');
    const invalid = { code: 'INVALID_ARGUMENT' };
    await expect(store.set('n\ud800', 'x')).rejects.toMatchObject(invalid);
    await expect(store.delete('n\udfff')).rejects.toMatchObject(invalid);
    await expect(store.set('k', 'a\ud800b')).rejects.toMatchObject(invalid);
    await expect(store.mset({ k: '\udc00' })).rejects.toMatchObject(invalid);
    expect(await store.get('n\ufffd')).toBe('neighbour');
    expect(await store.get('k')).toBeNull();
    // In a Cluster such a key went round the redirections until CONNECTION.
    await expect(createRedisKeyValueStore(cluster).get('\ud800')).rejects.toMatchObject(invalid);
  });

  it('unreadable options, non-pairs and TTLs past 2^53 - 1 ms are INVALID_ARGUMENT before anything is sent', async () => {
    const store = createRedisKeyValueStore(standalone, { keyPrefix: `o:${randomUUID()}:` });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const invalid = { code: 'INVALID_ARGUMENT' };
    await expect(store.set('a', 'v', null as never)).rejects.toMatchObject(invalid);
    await expect(store.set('a', 'v', proxy as never)).rejects.toMatchObject(invalid);
    await expect(store.incr('a', null as never)).rejects.toMatchObject(invalid);
    await expect(store.mset([['a', '1'], Symbol.iterator] as never)).rejects.toMatchObject(invalid);
    await expect(store.mset(new Map([['a', '1']]) as never)).rejects.toMatchObject(invalid);
    await expect(store.mget(new Array(2 ** 32 - 1))).rejects.toMatchObject(invalid);
    await expect(store.set('a', 'v', { ttlMs: 1e21 })).rejects.toMatchObject(invalid);
    // EXEC used to fail on 'PX 1.79e+308' after the other SETs of the transaction had run.
    await expect(store.mset({ a: '1', b: '2' }, { ttlMs: Number.MAX_VALUE })).rejects.toMatchObject(invalid);
    expect(await store.mget(['a', 'b'])).toEqual([null, null]);
  });

  it('incr that would leave the safe integer range rejects CONFLICT and changes nothing', async () => {
    const store = createRedisKeyValueStore(standalone);
    const key = `big:${randomUUID()}`;
    await store.set(key, String(Number.MAX_SAFE_INTEGER - 1));
    await expect(store.incr(key, { by: 2 })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.incr(key, { by: 2, ttlMs: 1000 })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.get(key)).toBe(String(Number.MAX_SAFE_INTEGER - 1));
    expect(await store.incr(key)).toBe(Number.MAX_SAFE_INTEGER);
    expect(await store.incr(key, { by: -(2 ** 53) + 1 })).toBe(0);
  });

  it('incr of a value that is not an integer rejects with CONFLICT, as the in-memory store does', async () => {
    const store = createRedisKeyValueStore(standalone);
    const key = `text:${randomUUID()}`;
    await store.set(key, 'abc');
    await expect(store.incr(key)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.incr(key, { ttlMs: 1000 })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
