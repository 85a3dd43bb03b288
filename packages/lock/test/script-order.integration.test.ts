import { afterAll, afterEach, expect, it } from '@jest/globals';
import { type RedisServer, sleep, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisLock, type RedisLock } from '../src/index.js';
import { acquireScript } from '../src/scripts.js';

// EVALSHA falls back to EVAL when a node does not know a script (NOSCRIPT: after a restart or
// SCRIPT FLUSH), and that second send goes behind whatever was sent meanwhile on the connection.
// A release sent without waiting for it (after a timed-out attempt) must not land after the
// next attempt's SET and delete the lock that attempt is about to hand out.

const managers: RedisLock[] = [];
let server: RedisServer | undefined;

afterEach(async () => {
  if (server?.isPaused) server.resume();
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

afterAll(async () => {
  await stopAll();
});

it('a release sent after a timed-out attempt never deletes the next attempt’s lock (script cache empty)', async () => {
  server = await startRedis();
  const m = createRedisLock({ urls: [server.url], nodeTimeoutMs: 300, fairLine: false });
  managers.push(m);
  await (await m.acquire('warm-up', 1000)).release();
  // The node knows the acquire script but not the release script (as after a restart where
  // only acquires ran so far).
  await server.call(['SCRIPT', 'FLUSH']);
  await server.call(['SCRIPT', 'LOAD', acquireScript.source]);
  server.pause();
  // Attempt 1 times out; its release and attempt 2 are queued behind it on the connection.
  const pending = m.acquire('ordered', 10_000, { retries: 5, retryDelayMs: 0, jitterMs: 0 });
  await sleep(450);
  server.resume();
  const lock = await pending;
  expect(lock.held).toBe(true);
  await sleep(200);
  // The lock handed out is in Redis: no late release deleted it.
  expect(await server.call(['GET', 'lock:l:ordered'])).toBe(lock.value);
  await lock.release();
});
