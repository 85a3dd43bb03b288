import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from '@jest/globals';
import { describeDistributedLock } from '@voelgoed/contracts/conformance';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
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
});

describe('Sentinel', () => {
  describeDistributedLock(
    'RedisLock over a Sentinel-managed master',
    () => createRedisLock({ clients: [sentinel], prefix: `conf:${randomUUID()}:` }),
    { teardown: (lock) => (lock as RedisLock).close() },
  );
});
