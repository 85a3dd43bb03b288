import { afterAll, beforeAll, describe } from '@jest/globals';
import { describeJobQueue } from '@voelgoed/contracts/conformance';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
  stopAll,
} from '@voelgoed/testkit';
import { createRedisJobQueue, type RedisJobQueue } from '../src/index.js';

// The contracts' JobQueue suite against RedisJobQueue on a standalone server and on a Cluster:
// one deployment and one client each for the whole file; the suite gives every test a queue
// name of its own, so tests never see each other's keys.
let server: RedisServer;
let cluster: RedisCluster;
let standaloneClient: RedisClient;
let clusterClient: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  cluster = await startRedisCluster();
  standaloneClient = createRedisClient({ url: server.url });
  clusterClient = createRedisClient({ cluster: { nodes: cluster.seeds } });
  await Promise.all([standaloneClient.ready(), clusterClient.ready()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([standaloneClient?.close(), clusterClient?.close()]);
  await stopAll();
});

/** Makes a running delivery's lease lapse now: its expiry in the active set goes to 0. */
function expireLease(client: () => RedisClient) {
  return async (queue: RedisJobQueue, id: string) =>
    client().command(['ZADD', `{queue:${queue.name}}:active`, 'XX', 0, id]);
}

describe('standalone', () => {
  describeJobQueue('RedisJobQueue (standalone)', (name) => createRedisJobQueue(standaloneClient, name), {
    teardown: (queue) => queue.close({ graceMs: 0 }),
    expireLease: expireLease(() => standaloneClient),
  });
});

describe('cluster', () => {
  describeJobQueue('RedisJobQueue (cluster)', (name) => createRedisJobQueue(clusterClient, name), {
    teardown: (queue) => queue.close({ graceMs: 0 }),
    expireLease: expireLease(() => clusterClient),
  });
});
