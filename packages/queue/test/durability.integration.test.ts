import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, isInfrastructureError, type RedisJobQueue } from '../src/index.js';

// Durability (issue 18): on a redis-server with appendonly yes and appendfsync always, an enqueue
// that resolved survives a SIGKILL of the server and a restart on the same data dir and port
// (the test kit's restart()). Enqueues that rejected may or may not have been stored.
let server: RedisServer;
let client: RedisClient;
const queues: RedisJobQueue[] = [];

beforeAll(async () => {
  server = await startRedis({ appendOnly: true });
  client = createRedisClient({ url: server.url });
  await client.ready();
}, 60_000);

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

function queue(): RedisJobQueue<{ n: number }> {
  const q = createRedisJobQueue<{ n: number }>(client, `durable-${randomUUID()}`);
  queues.push(q as RedisJobQueue);
  return q;
}

/** SIGKILL, restart on the same dir and port, and wait until the client talks to it again. */
async function killAndRestart(): Promise<void> {
  await server.kill();
  expect(server.pid).toBeUndefined();
  await server.restart();
  await until(
    async () => {
      try {
        return (await client.command(['PING'])) === 'PONG';
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000 },
  );
}

/** Runs a worker until the queue is empty; returns the ids it was given. */
async function processAll(q: RedisJobQueue<{ n: number }>): Promise<Set<string>> {
  const seen = new Set<string>();
  const worker = q.process(
    (job) => {
      seen.add(job.id);
    },
    { concurrency: 50 },
  );
  await q.drain({ timeoutMs: 60_000 });
  await worker.close();
  return seen;
}

describe('appendonly yes, appendfsync always', () => {
  it('keeps every enqueue that resolved before redis-server was SIGKILLed', async () => {
    const q = queue();
    const resolved: string[] = [];
    // 1,000 single enqueues (half with ids of the caller's), 50 at a time.
    for (let i = 0; i < 1_000; i += 50) {
      const wave = Array.from({ length: 50 }, (_, j) =>
        q.enqueue({ n: i + j }, (i + j) % 2 === 0 ? { id: `single-${i + j}` } : undefined),
      );
      resolved.push(...(await Promise.all(wave)).map((r) => r.id));
    }
    // 1,000 in enqueueMany batches: ten of 40 and one of 600 (more than one script call).
    for (const size of [40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 600]) {
      const batch = Array.from({ length: size }, (_, j) => ({ payload: { n: j } }));
      resolved.push(...(await q.enqueueMany(batch)).map((r) => r.id));
    }
    await killAndRestart();

    expect(await q.counts()).toMatchObject({ waiting: 2_000, delayed: 0, active: 0, deadLettered: 0 });
    const seen = await processAll(q);
    const lost = resolved.filter((id) => !seen.has(id));
    process.stderr.write(
      `durability, kill after the last enqueue: ${resolved.length} resolved, ${seen.size} delivered after the restart, ${lost.length} lost\n`,
    );
    expect(lost).toEqual([]);
    expect(seen.size).toBe(2_000);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 120_000);

  it('keeps every enqueue that resolved when redis-server is SIGKILLed with enqueues in flight', async () => {
    const q = queue();
    const resolved = new Set<string>();
    const rejected: string[] = [];
    const errors: unknown[] = [];
    let next = 0;
    let killed: Promise<void> | undefined;
    // Eight producers, each alternating a single enqueue and a batch of 20, all with ids of the
    // test's own so that a rejected one can be looked up. The server is killed from the callback
    // of the 1,000th resolved job, while the other producers' calls are in flight.
    const producer = async (p: number) => {
      for (let round = 0; killed === undefined; round++) {
        const ids = Array.from({ length: round % 2 === 0 ? 1 : 20 }, () => `job-${next++}`);
        try {
          if (ids.length === 1) await q.enqueue({ n: p }, { id: ids[0]! });
          else await q.enqueueMany(ids.map((id) => ({ payload: { n: p }, options: { id } })));
          for (const id of ids) resolved.add(id);
          if (resolved.size >= 1_000) killed ??= server.kill();
        } catch (error) {
          errors.push(error);
          rejected.push(...ids);
          if (killed === undefined) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, p) => producer(p)));
    await killed;
    await killAndRestart();

    // Every rejection is a typed error (the connection broke, or the call found it gone).
    expect(errors.filter((e) => !isInfrastructureError(e))).toEqual([]);
    let rejectedStored = 0;
    for (const id of rejected) if (await q.getJob(id)) rejectedStored++;
    const seen = await processAll(q);
    const lost = [...resolved].filter((id) => !seen.has(id));
    process.stderr.write(
      `durability, kill with enqueues in flight: ${resolved.size} resolved, ${rejected.length} rejected ` +
        `(${rejectedStored} of them stored anyway), ${seen.size} delivered after the restart, ${lost.length} lost\n`,
    );
    expect(lost).toEqual([]);
    expect(seen.size).toBe(resolved.size + rejectedStored);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 120_000);
});
