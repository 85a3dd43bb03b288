import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createRedisLock, type RedisLock } from '@voelgoed/lock';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis } from '@voelgoed/testkit';
import { createTelemetry, type Telemetry } from '../src/index.js';
import { startTracing, type TracingHarness } from './tracing-setup.js';

// A readiness probe (`/readyz` every few seconds, `telemetry.readiness()`) makes no spans: each
// would be a root span of a PING, and they would crowd out the traces of real work.

let server: RedisServer;
let redis: RedisClient;
let lock: RedisLock;
let telemetry: Telemetry;
let tracing: TracingHarness;

beforeAll(async () => {
  server = await startRedis();
  redis = createRedisClient({ url: server.url });
  lock = createRedisLock({ urls: [server.url] });
  await redis.ready();
  tracing = startTracing();
  telemetry = createTelemetry({ events: false });
  telemetry.addReadinessCheck(redis);
  telemetry.addReadinessCheck(lock);
});
afterAll(async () => {
  await telemetry?.close();
  await tracing?.close();
  await Promise.all([redis?.close(), lock?.close()]);
  await server?.stop();
});

it('makes no span for the checks of /readyz or readiness(), and commands around them still get theirs', async () => {
  const served = await telemetry.serve({ port: 0 });
  tracing.exporter.reset();

  await redis.command(['ECHO', 'before']);
  for (let i = 0; i < 3; i++) {
    const answer = await fetch(served.readyzUrl, { signal: AbortSignal.timeout(20_000) });
    expect(answer.status).toBe(200);
    expect((await telemetry.readiness()).ready).toBe(true);
  }
  await redis.command(['ECHO', 'after']);
  const names = tracing.spans().map((s) => s.name);

  // The probes did reach Redis: PINGs of the client and of the lock's connection, counted by
  // the server (so the absence of their spans below is not an absence of the calls).
  const stats = await redis.command<string>(['INFO', 'commandstats']);
  expect(Number(/cmdstat_ping:calls=(\d+)/.exec(stats)?.[1] ?? 0)).toBeGreaterThanOrEqual(6);

  expect(names).toEqual(['ECHO', 'ECHO']);
});
