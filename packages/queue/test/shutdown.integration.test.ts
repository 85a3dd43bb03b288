import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobDelivery } from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, isInfrastructureError, type RedisJobQueue } from '../src/index.js';
import { JobWorkerProcess } from './job-worker-process.js';

// Graceful shutdown (issue 18): close({ graceMs }) lets running jobs finish within the grace;
// the rest see their signal abort and are handed back, so another worker takes them at once.
// The lease is 60 s: a job taken again before its first delivery's lease could have run out
// (measured on the server's clock from before the enqueue) can only have been handed back. No
// speed is asserted.
const LEASE_MS = 60_000;
const GRACE_MS = 5_000;

let server: RedisServer;
let client: RedisClient;
let other: RedisClient;
const queues: RedisJobQueue[] = [];
const children: JobWorkerProcess[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  other = createRedisClient({ url: server.url });
  await Promise.all([client.ready(), other.ready()]);
}, 60_000);

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await Promise.all([client?.close(), other?.close()]);
  await stopAll();
});

async function serverMs(): Promise<number> {
  const [s, us] = (await client.command(['TIME'])) as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

function queue<T>(redis: RedisClient, name = `shutdown-${randomUUID()}`): RedisJobQueue<T> {
  const q = createRedisJobQueue<T>(redis, name, { leaseMs: LEASE_MS });
  queues.push(q as RedisJobQueue);
  return q;
}

interface Taken {
  id: string;
  token: number;
  attempt: number;
  at: number;
}

/** A second worker (its own client and queue object) that records what it is given. */
function takeOver(name: string): Taken[] {
  const taken: Taken[] = [];
  queue(other, name).process(
    async (job) => {
      const at = await serverMs();
      taken.push({ id: job.id, token: job.deliveryToken, attempt: job.attempt, at });
    },
    { concurrency: 20 },
  );
  return taken;
}

describe('close({ graceMs })', () => {
  it('completes the jobs that finish within the grace and hands the rest back at once', async () => {
    const q = queue<{ quick: boolean }>(client);
    const before = await serverMs(); // no lease of these jobs runs out before before + LEASE_MS
    const quick = Array.from({ length: 10 }, (_, i) => `quick-${i}`);
    const slow = Array.from({ length: 10 }, (_, i) => `slow-${i}`);
    await q.enqueueMany([
      ...quick.map((id) => ({ payload: { quick: true }, options: { id, attempts: 1 } })),
      ...slow.map((id) => ({ payload: { quick: false }, options: { id, attempts: 1 } })),
    ]);

    let closing: () => void = () => {};
    const closed = new Promise<void>((resolve) => {
      closing = resolve;
    });
    const started: JobDelivery<{ quick: boolean }>[] = [];
    const finished: string[] = [];
    const aborts = new Map<string, unknown>();
    const worker = q.process(
      async (job) => {
        started.push(job);
        if (job.payload.quick) {
          await closed; // still running when close() is called, done right after
          finished.push(job.id);
          return;
        }
        await new Promise<void>((resolve) =>
          job.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        aborts.set(job.id, job.signal.reason);
      },
      { concurrency: 20 },
    );
    await until(() => started.length === 20, { timeoutMs: 30_000 });
    const taken = takeOver(q.name); // idle: every job is leased to the first worker

    const closeDone = worker.close({ graceMs: GRACE_MS });
    closing();
    await closeDone;
    expect(worker.running).toBe(0);
    await until(() => taken.length === slow.length, { timeoutMs: 90_000 });
    await q.drain({ timeoutMs: 30_000 });

    const infos = await Promise.all([...quick, ...slow].map((id) => q.getJob(id)));
    process.stderr.write(
      `shutdown, close({ graceMs: ${GRACE_MS} }): ${started.length} running, ${finished.length} finished in the grace, ` +
        `${aborts.size} aborted and handed back, ${taken.length} taken by another worker ` +
        `${Math.max(...taken.map((t) => t.at)) - before} ms after the enqueue (lease ${LEASE_MS} ms)\n`,
    );
    // Finished within the grace: completed by the closing worker, once.
    expect(finished.sort()).toEqual([...quick].sort());
    // Tokens come from the queue's counter: each job's first (and only) delivery's token.
    const firstToken = new Map(started.map((job) => [job.id, job.deliveryToken]));
    for (const [i, info] of infos.slice(0, quick.length).entries()) {
      expect(info).toMatchObject({
        state: 'completed',
        deliveryToken: firstToken.get(quick[i]!),
        failures: 0,
      });
    }
    // The rest: aborted (ABORTED, not a lost lease), handed back without using an attempt, and
    // taken by the other worker with a higher token long before their lease could have run out.
    expect([...aborts.keys()].sort()).toEqual([...slow].sort());
    for (const reason of aborts.values()) expect(isInfrastructureError(reason, 'ABORTED')).toBe(true);
    expect(taken.map((t) => t.id).sort()).toEqual([...slow].sort());
    for (const t of taken) {
      expect(t.attempt).toBe(1);
      expect(t.token).toBeGreaterThan(firstToken.get(t.id)!);
      expect(t.at).toBeLessThan(before + LEASE_MS);
    }
    for (const [i, info] of infos.slice(quick.length).entries()) {
      const last = taken.find((t) => t.id === slow[i])?.token;
      expect(info).toMatchObject({ state: 'completed', deliveryToken: last, failures: 0 });
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 150_000);

  it('with graceMs 0 hands every running job back at once', async () => {
    const q = queue<number>(client);
    const before = await serverMs();
    const ids = (await q.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ payload: i })))).map((r) => r.id);
    let running = 0;
    const firstToken = new Map<string, number>();
    const worker = q.process(
      (job) =>
        new Promise<void>((resolve) => {
          running++;
          firstToken.set(job.id, job.deliveryToken);
          job.signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      { concurrency: 5 },
    );
    await until(() => running === 5, { timeoutMs: 30_000 });
    const taken = takeOver(q.name);
    await worker.close({ graceMs: 0 });
    await until(() => taken.length === 5, { timeoutMs: 90_000 });
    await q.drain({ timeoutMs: 30_000 });
    expect(taken.map((t) => t.id).sort()).toEqual([...ids].sort());
    for (const t of taken) {
      expect(t.attempt).toBe(1);
      expect(t.token).toBeGreaterThan(firstToken.get(t.id)!);
      expect(t.at).toBeLessThan(before + LEASE_MS);
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 150_000);
});

describe('a worker process that receives SIGTERM and calls close()', () => {
  it('finishes what it can within the grace, hands the rest back and exits 0; nothing is lost', async () => {
    const q = queue<{ untilTerm?: number; hold?: number }>(client);
    const before = await serverMs();
    const finishing = Array.from({ length: 5 }, (_, i) => `term-${i}`);
    const held = Array.from({ length: 5 }, (_, i) => `held-${i}`);
    await q.enqueueMany([
      // Run until the process gets SIGTERM, then finish (within the grace).
      ...finishing.map((id) => ({ payload: { untilTerm: 1 }, options: { id, attempts: 1 } })),
      // The first delivery runs until its signal aborts; later ones finish at once.
      ...held.map((id) => ({ payload: { hold: 1 }, options: { id, attempts: 1 } })),
    ]);
    const child = new JobWorkerProcess({
      url: server.url,
      queue: q.name,
      leaseMs: LEASE_MS,
      concurrency: 10,
      graceMs: GRACE_MS,
    });
    children.push(child);
    await child.waitFor((l) => l.event === 'started', 10, 90_000);
    const taken = takeOver(q.name);

    child.signal('SIGTERM');
    const exit = await child.exited;
    await until(() => taken.length === held.length, { timeoutMs: 90_000 });
    await q.drain({ timeoutMs: 30_000 });

    const lines = child.lines;
    const done = lines.filter((l) => l.event === 'done').map((l) => l.id);
    const aborted = lines.filter((l) => l.event === 'aborted');
    process.stderr.write(
      `shutdown, SIGTERM to a worker process: exit ${exit.code}, ${done.length} finished in the grace, ` +
        `${aborted.length} aborted and handed back, ${taken.length} taken by another worker ` +
        `${Math.max(...taken.map((t) => t.at)) - before} ms after the enqueue (lease ${LEASE_MS} ms)\n`,
    );
    expect(exit).toEqual({ code: 0, signal: null });
    expect(lines.map((l) => l.event)).toContain('closed');
    expect(done.sort()).toEqual([...finishing].sort());
    expect(aborted.map((l) => l.id).sort()).toEqual([...held].sort());
    // The first deliveries' tokens (from the queue's counter): the ones the child started with.
    const firstToken = new Map(
      lines.filter((l) => l.event === 'started').map((l) => [l.id!, Number(l.token)] as const),
    );
    for (const l of aborted) expect(l).toMatchObject({ token: firstToken.get(l.id!), code: 'ABORTED' });
    expect(taken.map((t) => t.id).sort()).toEqual([...held].sort());
    for (const t of taken) {
      expect(t.attempt).toBe(1);
      expect(t.token).toBeGreaterThan(firstToken.get(t.id)!);
      expect(t.at).toBeLessThan(before + LEASE_MS);
    }
    const infos = await Promise.all([...finishing, ...held].map((id) => q.getJob(id)));
    for (const [i, info] of infos.entries()) {
      const id = [...finishing, ...held][i]!;
      const last = i < 5 ? firstToken.get(id) : taken.find((t) => t.id === id)?.token;
      expect(info).toMatchObject({ state: 'completed', failures: 0, deliveryToken: last });
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 150_000);
});
