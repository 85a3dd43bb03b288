import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from '@jest/globals';
import { describeDistributedLock } from '@voelgoed/contracts/conformance';
import { type RedisGroup, startRedisGroup, stopAll } from '@voelgoed/testkit';
import { createRedisLock, type RedisLock } from '../src/index.js';

// The contracts' DistributedLock suite against RedisLock over N = 1, 3 and 5 independent
// masters: one server group per N for the whole file, and a fresh lock manager with a key
// prefix of its own per test (closed after the test), so tests never see each other's keys.
const groups = new Map<number, RedisGroup>();

beforeAll(async () => {
  for (const n of [1, 3, 5]) groups.set(n, await startRedisGroup(n));
}, 60_000);

afterAll(async () => {
  await stopAll();
});

for (const n of [1, 3, 5]) {
  describe(`N = ${n}`, () => {
    describeDistributedLock(
      `RedisLock over ${n} master(s)`,
      () => createRedisLock({ urls: groups.get(n)!.urls, prefix: `conf:${randomUUID()}:` }),
      { teardown: (lock) => (lock as RedisLock).close() },
    );
  });
}
