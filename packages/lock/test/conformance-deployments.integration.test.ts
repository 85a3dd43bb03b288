import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeDistributedLock } from '@voelgoed/contracts/conformance';
import { createRedisClient, keySlot, type RedisClient } from '@voelgoed/redis';
import { startRedisCluster, startRedisSentinel, stopAll } from '@voelgoed/testkit';
import { createRedisLock, type RedisLock } from '../src/index.js';

// The contracts' DistributedLock suite against RedisLock over one Redis Cluster and over one
// Sentinel-managed master (N = 1 in Redlock terms): the deployments the README says it runs on.
// One client per deployment for the file; a lock manager with a prefix of its own per test.
let cluster: RedisClient;
let sentinel: RedisClient;

beforeAll(async () => {
  const [nodes, group] = await Promise.all([startRedisCluster(), startRedisSentinel()]);
  cluster = createRedisClient({ cluster: { nodes: nodes.seeds } });
  sentinel = createRedisClient({ sentinel: { name: group.masterName, sentinels: group.sentinelAddresses } });
  await Promise.all([cluster.ready(), sentinel.ready()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.close(), sentinel?.close()]);
  await stopAll();
});

describe('Redis Cluster', () => {
  describeDistributedLock(
    'RedisLock over a Redis Cluster (hash tags on)',
    () => createRedisLock({ clients: [cluster], prefix: `conf:${randomUUID()}:` }),
    { teardown: (lock) => (lock as RedisLock).close() },
  );

  it('refuses the resources of one lock in different slots with INVALID_ARGUMENT naming the hash tag, and holds nothing', async () => {
    const lock = createRedisLock({ clients: [cluster], prefix: `slots:${randomUUID()}:` });
    try {
      expect(keySlot('seat:1')).not.toBe(keySlot('seat:2'));
      await expect(lock.acquire(['seat:1', 'seat:2'], 10_000)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('must be in one Redis Cluster slot'),
      });
      // Nothing was taken: each resource alone is free.
      const one = await lock.acquire('seat:1', 10_000);
      const two = await lock.acquire('seat:2', 10_000);
      await Promise.all([one.release(), two.release()]);
      const both = await lock.acquire(['{seat}:1', '{seat}:2'], 10_000);
      await both.release();
    } finally {
      await lock.close();
    }
  });
});

describe('Sentinel', () => {
  describeDistributedLock(
    'RedisLock over a Sentinel-managed master',
    () => createRedisLock({ clients: [sentinel], prefix: `conf:${randomUUID()}:` }),
    { teardown: (lock) => (lock as RedisLock).close() },
  );
});
