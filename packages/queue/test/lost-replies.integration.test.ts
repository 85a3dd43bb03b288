import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Channels, type QueueJobEvent, subscribe } from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, type RedisJobQueue } from '../src/index.js';

// Redis paused (SIGSTOP) longer than the client's command timeout: the worker's calls time out
// on the client, yet Redis runs them when it resumes, and their replies go nowhere. Found by an
// independent check: the jobs such a fetch took sat "active" for a whole lease with the worker
// idle, and completions Redis had applied were reported as lost leases. The lease here is a
// minute, so a job that waits for it fails the bounds below; every other wait is for a condition.
const LEASE_MS = 60_000;
const COMMAND_TIMEOUT_MS = 300;

let server: RedisServer;
let client: RedisClient;
let impatient: RedisClient;
const queues: RedisJobQueue[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  impatient = createRedisClient({ url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  await Promise.all([client.ready(), impatient.ready()]);
}, 60_000);

afterEach(async () => {
  if (server.isPaused) server.resume();
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await impatient?.close();
  await client?.close();
  await stopAll();
});

function queues2(): { q: RedisJobQueue; view: RedisJobQueue } {
  const name = `lost-${randomUUID()}`;
  // `q` works on the impatient client; `view` reads the same queue on a patient one.
  const q = createRedisJobQueue(impatient, name, { leaseMs: LEASE_MS });
  const view = createRedisJobQueue(client, name, { leaseMs: LEASE_MS });
  queues.push(q, view);
  return { q, view };
}

function recordEvents(queue: string): { events: QueueJobEvent[]; stop: () => void } {
  const events: QueueJobEvent[] = [];
  const stop = subscribe(Channels.queueJob, (e) => {
    if (e.queue === queue) events.push(e);
  });
  return { events, stop };
}

describe('worker calls whose reply was lost (Redis paused past the command timeout)', () => {
  it('jobs a lost fetch took go back at once, not after the lease: all run soon after the resume', async () => {
    const { q, view } = queues2();
    // A first job run through this client: the queue's wake-ups are subscribed and the fetch
    // script is loaded (an EVALSHA of an unknown script would fail at the resume and take nothing).
    const warm = q.process(() => {});
    await view.enqueue('warm-up');
    await view.drain({ timeoutMs: 20_000 });
    await warm.close();
    const ids = Array.from({ length: 8 }, (_, i) => `job-${i}`);
    await view.enqueueMany(ids.map((id) => ({ payload: id, options: { id } })));
    const started: string[] = [];
    server.pause();
    let worker: ReturnType<RedisJobQueue['process']>;
    try {
      worker = q.process(
        (job) => {
          started.push(job.id);
        },
        { concurrency: 4 },
      );
      // Several fetches are sent and time out meanwhile; Redis runs them all when it resumes.
      await new Promise((resolve) => setTimeout(resolve, 5 * COMMAND_TIMEOUT_MS));
    } finally {
      server.resume();
    }
    // Within a quarter of the lease: a job held by a lost fetch would wait the whole lease.
    await until(() => new Set(started).size === ids.length, { timeoutMs: LEASE_MS / 4 }).catch(() => {});
    expect([...new Set(started)].sort()).toEqual(ids);
    await view.drain({ timeoutMs: LEASE_MS / 4 });
    expect(await view.counts()).toMatchObject({ waiting: 0, active: 0, deadLettered: 0 });
    await worker.close();
  }, 90_000);

  it('completions Redis applied after the resume are reported completed, not as lost leases', async () => {
    const { q, view } = queues2();
    const recorder = recordEvents(q.name);
    const ids = Array.from({ length: 6 }, (_, i) => `done-${i}`);
    await view.enqueueMany(ids.map((id) => ({ payload: id, options: { id } })));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let running = 0;
    const worker = q.process(
      async () => {
        running++;
        await gate;
      },
      { concurrency: ids.length },
    );
    try {
      await until(() => running === ids.length, { timeoutMs: 20_000 });
      server.pause();
      try {
        // The handlers finish while Redis is stopped: their completions time out on the client.
        release();
        await new Promise((resolve) => setTimeout(resolve, 5 * COMMAND_TIMEOUT_MS));
      } finally {
        server.resume();
      }
      await view.drain({ timeoutMs: LEASE_MS / 4 });
      const completed = () => recorder.events.filter((e) => e.event === 'completed').length;
      await until(() => completed() === ids.length, { timeoutMs: LEASE_MS / 4 }).catch(() => {});
      expect(recorder.events.map((e) => e.event).filter((e) => e !== 'started' && e !== 'enqueued')).toEqual(
        ids.map(() => 'completed'),
      );
      for (const id of ids) expect((await view.getJob(id))?.state).toBe('completed');
    } finally {
      recorder.stop();
      await worker.close();
    }
  }, 90_000);
});
