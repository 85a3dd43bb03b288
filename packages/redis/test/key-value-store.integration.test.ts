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

  it('incr of a value that is not an integer rejects with CONFLICT, as the in-memory store does', async () => {
    const store = createRedisKeyValueStore(standalone);
    const key = `text:${randomUUID()}`;
    await store.set(key, 'abc');
    await expect(store.incr(key)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(store.incr(key, { ttlMs: 1000 })).rejects.toMatchObject({ code: 'CONFLICT' });
  });
});
