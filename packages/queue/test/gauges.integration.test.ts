import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobDelivery } from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, sleep, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, type RedisJobQueue } from '../src/index.js';

// counts().oldestWaitingMs on Redis, where the telemetry gauge voelgoed_queue_oldest_waiting_seconds
// reads it (@voelgoed/telemetry's test/queue-gauges.test.ts maps it; telemetry cannot depend on
// this package). The paths the conformance suite cannot reach: a delayed job promoted by a
// fetch, a lapsed lease before and after it goes back in line, a handed-back job in front of an
// older one, and the cost of one counts() call on a long line. The age bounds compare the
// server's elapsed time with the test's (one machine): a sleep is never shorter than asked.

const SLACK_MS = 5;
let server: RedisServer;
let client: RedisClient;
const queues: RedisJobQueue[] = [];
const gates: (() => void)[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
}, 60_000);

afterEach(async () => {
  for (const open of gates.splice(0)) open();
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

function queue(options?: Parameters<typeof createRedisJobQueue>[2]): RedisJobQueue {
  const q = createRedisJobQueue(client, `g-${randomUUID()}`, options);
  queues.push(q);
  return q;
}

const key = (q: RedisJobQueue, name: string) => `{queue:${q.name}}:${name}`;

/** A handler that runs until its delivery's signal aborts or the test ends. */
function hold(job: JobDelivery): Promise<void> {
  return new Promise((resolve) => {
    gates.push(resolve);
    job.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function serverMs(): Promise<number> {
  const [s, us] = (await client.command(['TIME'])) as string[];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

async function inLine(q: RedisJobQueue, id: string): Promise<boolean> {
  return (await client.command(['ZSCORE', key(q, 'ready'), id])) !== null;
}

describe('counts().oldestWaitingMs on Redis', () => {
  it('a delayed job promoted by a fetch long after its time counts from its due time', async () => {
    const q = queue();
    const delayMs = 100;
    await q.enqueue('late', { id: 'late', delayMs });
    const enqueued = Date.now();
    await sleep(400);
    // Paused: the worker's fetch moves the due job into line but takes nothing.
    await q.pause();
    const worker = q.process(() => undefined);
    await until(() => inLine(q, 'late'), { timeoutMs: 30_000 });
    const before = Date.now();
    const counts = await q.counts();
    expect(counts).toMatchObject({ waiting: 1, delayed: 0, active: 0 });
    // Due `delayMs` after its enqueue, so it has waited at least the time since then.
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(before - enqueued - delayMs - SLACK_MS);
    await worker.close({ graceMs: 0 });
  }, 60_000);

  it('a job whose lease lapsed counts from the lease expiry, before and after it goes back in line', async () => {
    const q = queue({ leaseMs: 3000 });
    const worker = q.process(hold, { concurrency: 1 });
    await q.enqueue('stalls', { id: 'stalls' });
    await until(async () => (await q.getJob('stalls'))?.state === 'active', { timeoutMs: 30_000 });
    await q.pause();
    // The lease ran out 5 s ago (as a stalled worker's would).
    const lapsedAt = (await serverMs()) - 5000;
    await client.command(['ZADD', key(q, 'active'), 'XX', lapsedAt, 'stalls']);
    // The age is the server's clock at the count minus the lapse: read on that clock just before
    // and just after, it lies between the two (no time of this process is involved).
    const ageAround = async () => {
      const low = (await serverMs()) - lapsedAt;
      const counts = await q.counts();
      const high = (await serverMs()) - lapsedAt;
      return { counts, low, high };
    };
    let { counts, low, high } = await ageAround();
    expect(counts).toMatchObject({ waiting: 1, active: 0 });
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(low);
    expect(counts.oldestWaitingMs).toBeLessThanOrEqual(high);
    // The worker's next renewal notices and puts the job back in line, at its earlier place.
    await until(() => inLine(q, 'stalls'), { timeoutMs: 30_000 });
    ({ counts, low, high } = await ageAround());
    expect(counts).toMatchObject({ waiting: 1, active: 0 });
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(low);
    expect(counts.oldestWaitingMs).toBeLessThanOrEqual(high);
    await worker.close({ graceMs: 0 });
  }, 60_000);

  it('a job handed back at the front of the line does not hide an older job behind it', async () => {
    const q = queue();
    const worker = q.process(hold, { concurrency: 1 });
    await q.enqueue('first', { id: 'first' });
    await until(async () => (await q.getJob('first'))?.state === 'active', { timeoutMs: 30_000 });
    await q.pause();
    await q.enqueue('second', { id: 'second' });
    const enqueued = Date.now();
    await sleep(300);
    // Closing hands 'first' back at once, at its place in front of 'second'.
    await worker.close({ graceMs: 0 });
    const before = Date.now();
    const counts = await q.counts();
    expect(counts).toMatchObject({ waiting: 2, active: 0 });
    expect(await client.command(['ZRANGE', key(q, 'ready'), 0, -1])).toEqual(['first', 'second']);
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(before - enqueued - SLACK_MS);
  }, 60_000);

  it('one counts() reads a few jobs per priority level, not the line: 6,000 waiting jobs, 3 levels', async () => {
    const q = queue();
    const priorities = ['high', 'normal', 'low'] as const;
    for (let i = 0; i < 6; i++) {
      await q.enqueueMany(
        Array.from({ length: 1000 }, (_, j) => ({
          payload: j,
          options: { priority: priorities[(i + j) % 3] },
        })),
      );
    }
    await client.command(['CONFIG', 'RESETSTAT']);
    const counts = await q.counts();
    const stats = String(await client.command(['INFO', 'commandstats']));
    const calls = (command: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    expect(counts).toMatchObject({ waiting: 6000, delayed: 0, active: 0, deadLettered: 0 });
    expect(counts.oldestWaitingMs).toBeGreaterThanOrEqual(0);
    // One head read and one range per level (a fourth head read finds none), one hash read per
    // level's first job: nothing grows with the line.
    expect(calls('zrangebyscore')).toBeLessThanOrEqual(7);
    expect(calls('hmget')).toBeLessThanOrEqual(3);
  }, 60_000);
});
