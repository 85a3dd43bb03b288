import { afterAll, describe, expect, it } from '@jest/globals';
import type { Resource } from '@voelgoed/contracts';
import { createDurableWebhookSender } from '@voelgoed/http';
import { createRedisLock } from '@voelgoed/lock';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';
import { TieredCache } from '@voelgoed/redis/tiered-cache';
import { type RedisServer, startRedis } from '@voelgoed/testkit';

// With the Redis server paused (SIGSTOP), every Redis-backed resource's health() reports down
// and its close() resolves: none of them hangs on a server that never answers.
let server: RedisServer;
afterAll(async () => {
  if (server?.isPaused) server.resume();
  await server?.stop();
});

/** Resolves with the ms `p` took, or rejects when it has not settled after `boundMs`. */
async function settles(label: string, p: Promise<unknown>, boundMs = 20_000): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label} did not settle within ${boundMs} ms`)), boundMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return Math.round(performance.now() - started);
}

describe('with the Redis server paused', () => {
  it('health() reports down and close() resolves for every Redis-backed resource', async () => {
    server = await startRedis();
    const redis = createRedisClient({ url: server.url });
    await redis.command(['PING']);
    const owned = createRedisClient({ url: server.url });
    await owned.command(['PING']);
    const lock = createRedisLock({ urls: [server.url] });
    await lock.withLock('close-paused', async () => undefined);
    const queue = createRedisJobQueue(redis, `close-paused-${process.pid}`);
    const worker = queue.process(async () => {});
    const sender = createDurableWebhookSender(queue, {
      secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    });
    const cache = new TieredCache(redis, { namespace: `close-paused-${process.pid}` });
    await cache.set('k', 'v');
    const resources: [string, Resource][] = [
      ['redis', owned],
      ['key-value', createRedisKeyValueStore(redis)],
      ['cache', cache],
      ['lock', lock],
      ['queue', queue],
      ['webhook', sender],
    ];
    for (const [, r] of resources) expect((await r.health()).status).toBe('up');

    server.pause();
    const times: string[] = [];
    for (const [label, r] of resources) {
      let status = '';
      const ms = await settles(
        `${label}.health()`,
        r.health().then((h) => {
          status = h.status;
        }),
      );
      times.push(`${label} health ${status} in ${ms} ms`);
      expect(status).toBe('down');
    }
    for (const [label, r] of [...resources].reverse()) {
      times.push(`${label} close in ${await settles(`${label}.close()`, r.close())} ms`);
    }
    await settles('worker.close()', worker.close({ graceMs: 100 }));
    times.push(`client close in ${await settles('redis.close()', redis.close({ timeoutMs: 1000 }))} ms`);
    console.log(times.join('\n'));
    server.resume();
    for (const [, r] of resources) expect((await r.health()).status).toBe('down');
  }, 120_000);
});
