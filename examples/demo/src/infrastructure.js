// Wires the ports to real adapters (Redis, HTTP, files or S3) or to the in-memory
// implementations from @voelgoed/contracts (--memory). The shop never knows which.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  FakeHttpClient,
  MemoryExpiringSet,
  MemoryJobQueue,
  MemoryKeyValueStore,
  MemoryLock,
  MemoryObjectStorage,
  MemoryRateLimiter,
} from '@voelgoed/contracts/memory';
import { createHttpClient } from '@voelgoed/http';
import { createRedisLock } from '@voelgoed/lock';
import { createRedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, createRedisKeyValueStore } from '@voelgoed/redis';
import { ExpiringSet } from '@voelgoed/redis/expiring-set';
import { RateLimiter } from '@voelgoed/redis/rate-limiter';
import { createFsStorage, createS3Storage } from '@voelgoed/storage';
import { serveLocally } from './local-server.js';

const HTTP_POLICIES = {
  timeoutMs: 2000,
  retry: { limit: 3, baseDelayMs: 5, maxDelayMs: 50 },
  // Short windows so that the gateway's outage opens the breaker and the demo sees it recover.
  circuitBreaker: { consecutiveFailures: 5, openMs: 150, halfOpenProbes: 1 },
  // The demo's burst of retries is the point; don't let the budget hide them.
  retryBudget: false,
};

/**
 * A node:http server in front of the shop's webhook handler. Every `unavailableEvery`th request
 * gets a 503 (the shop is redeploying), so the webhook sender's retries show.
 */
async function serveWebhooks(onWebhook, { unavailableEvery = 0 } = {}) {
  let requests = 0;
  const server = await serveLocally((req) => {
    requests++;
    if (unavailableEvery > 0 && requests % unavailableEvery === 0) return { status: 503 };
    return { status: onWebhook(req.body, req.headers) };
  });
  return { url: `${server.origin}/webhooks`, close: server.close };
}

/**
 * @param {{ memory: boolean, gateway: { handle: Function }, gatewayUrl?: string,
 *           rateLimit: { limit: number, periodMs: number }, log: (line: string) => void }} options
 */
export async function createInfrastructure({ memory, gateway, gatewayUrl, rateLimit, log }) {
  const closers = [];
  if (memory) {
    const kv = new MemoryKeyValueStore();
    const http = new FakeHttpClient({
      baseUrl: 'https://gateway.invalid',
      retry: { limit: HTTP_POLICIES.retry.limit },
      handler: async (req) => {
        const answer = await gateway.handle({
          method: req.method,
          path: req.path,
          headers: req.headers,
          body: req.body.toString('utf8'),
        });
        return { status: answer.status, headers: answer.headers ?? {}, body: answer.body };
      },
    });
    log(
      'infrastructure: in memory (MemoryLock, MemoryKeyValueStore, MemoryObjectStorage, FakeHttpClient, MemoryExpiringSet, MemoryRateLimiter, MemoryJobQueue)',
    );
    const webhookQueue = new MemoryJobQueue('webhooks');
    return {
      kind: 'memory',
      locks: new MemoryLock(),
      kv,
      http,
      storage: new MemoryObjectStorage(),
      holds: new MemoryExpiringSet({ defaultTtlMs: 10_000 }),
      limiter: new MemoryRateLimiter({ limit: rateLimit.limit, periodMs: rateLimit.periodMs }),
      webhookQueue,
      webhookQueueKind: 'MemoryJobQueue',
      serveWebhooks,
      close: () => webhookQueue.close(),
    };
  }

  // Redis: external servers when REDIS_URLS / REDIS_URL say so, else three of our own.
  let urls = (process.env.REDIS_URLS ?? process.env.REDIS_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) {
    const { startRedisGroup, stopAll } = await import('@voelgoed/testkit');
    const group = await startRedisGroup(3);
    urls = group.servers.map((s) => s.url);
    closers.push(() => stopAll());
    log(
      `redis: started 3 local redis-server masters for Redlock (ports ${group.servers.map((s) => s.port).join(', ')})`,
    );
  } else {
    log(
      `redis: ${urls.length} external server(s) from ${process.env.REDIS_URLS ? 'REDIS_URLS' : 'REDIS_URL'}`,
    );
  }
  const clients = urls.map((url) => createRedisClient({ url }));
  closers.unshift(() => Promise.all(clients.map((c) => c.close())));
  await Promise.all(clients.map((c) => c.ready()));
  const [main] = clients;
  const run = `demo:${Date.now().toString(36)}`;
  const kv = createRedisKeyValueStore(main, { keyPrefix: `${run}:` });
  const locks = createRedisLock({ clients, prefix: `${run}:lock:` });
  closers.unshift(() => locks.close());

  // Storage: S3 when S3_URL is set, else the filesystem driver in a temp dir.
  let storage;
  if (process.env.S3_URL) {
    storage = createS3Storage(process.env.S3_URL);
    await storage.ensureBucket();
    closers.unshift(() => storage.close());
    log('storage: S3 from S3_URL');
  } else {
    const root = await mkdtemp(path.join(os.tmpdir(), 'voelgoed-demo-'));
    storage = createFsStorage({ root });
    closers.push(() => rm(root, { recursive: true, force: true }));
    log(`storage: filesystem driver in ${root}`);
  }

  const httpClient = createHttpClient({ baseUrl: gatewayUrl, ...HTTP_POLICIES });
  closers.unshift(() => httpClient.close());
  // The gateway's webhook outbox: a JobQueue on the same Redis (closed before its client).
  const webhookQueue = createRedisJobQueue(main, `${run}:webhooks`);
  closers.unshift(() => webhookQueue.close());
  return {
    kind: 'real',
    locks,
    kv,
    http: httpClient,
    storage,
    holds: new ExpiringSet(main, `${run}:holds`, { defaultTtlMs: 10_000 }),
    limiter: new RateLimiter(main, {
      limit: rateLimit.limit,
      periodMs: rateLimit.periodMs,
      keyPrefix: `${run}:rate:`,
    }),
    webhookQueue,
    webhookQueueKind: 'Redis JobQueue',
    serveWebhooks,
    close: async () => {
      for (const close of closers) await close();
    },
  };
}
