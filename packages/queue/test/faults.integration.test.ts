import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobDelivery } from '@voelgoed/contracts';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { NodeChild, type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, isInfrastructureError, type RedisJobQueue } from '../src/index.js';
import { JobWorkerProcess } from './job-worker-process.js';

// Faults with real processes: a worker SIGKILLed while holding jobs, a worker stopped (SIGSTOP)
// past its lease, and a redis-server stopped past a lease. No time is asserted: every wait is for
// a condition, with limits far above what a loaded machine needs.
let server: RedisServer;
let client: RedisClient;
const children: JobWorkerProcess[] = [];
const queues: RedisJobQueue[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
}, 60_000);

afterEach(async () => {
  if (server.isPaused) server.resume();
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

function queue(redis: RedisClient, leaseMs: number): RedisJobQueue {
  const q = createRedisJobQueue(redis, `faults-${randomUUID()}`, { leaseMs });
  queues.push(q);
  return q;
}

/** A worker process whose handlers hold every job until their signal aborts. */
function workerProcess(q: RedisJobQueue, leaseMs: number, concurrency: number): JobWorkerProcess {
  const config = { url: server.url, queue: q.name, leaseMs, concurrency, holdAll: true };
  const child = new JobWorkerProcess(config);
  children.push(child);
  return child;
}

describe('a crashed worker', () => {
  it('gets its jobs back in line after the lease, without using up an attempt', async () => {
    const leaseMs = 2_000;
    const q = queue(client, leaseMs);
    const jobs = Array.from({ length: 4 }, (_, i) => ({ payload: i, options: { attempts: 1 } }));
    const ids = (await q.enqueueMany(jobs)).map((r) => r.id);
    const child = workerProcess(q, leaseMs, 4);
    await child.waitFor((l) => l.event === 'started', 4);
    expect((await q.counts()).active).toBe(4);

    const killedAt = performance.now();
    await child.stop(); // SIGKILL: no hand-back, no renewal
    const seen = new Map<string, { attempt: number; token: number }>();
    q.process((job) => void seen.set(job.id, { attempt: job.attempt, token: job.deliveryToken }), {
      concurrency: 4,
    });
    await q.drain({ timeoutMs: 60_000 });
    console.log(
      `crash: ${ids.length} jobs of a SIGKILLed worker (lease ${leaseMs} ms) were done ` +
        `${Math.round(performance.now() - killedAt)} ms after the kill`,
    );

    // attempts: 1, so a crash that used an attempt would have dead-lettered them.
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) {
      // Token 2 unless the loaded child lost a lease of its own before the kill (then higher).
      expect(seen.get(id)!.attempt).toBe(1);
      expect(seen.get(id)!.token).toBeGreaterThanOrEqual(2);
    }
    expect(await q.counts()).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      deadLettered: 0,
      oldestWaitingMs: 0,
    });
  }, 120_000);
});

describe('a worker stopped past its lease', () => {
  it('sees its signal abort at its next renewal, and the re-delivery carries a higher token', async () => {
    const leaseMs = 1_000;
    const q = queue(client, leaseMs);
    const { id } = await q.enqueue('stalled', { attempts: 1 });
    const child = workerProcess(q, leaseMs, 1);
    const [first] = await child.waitFor((l) => l.event === 'started', 1);
    child.signal('SIGSTOP');

    const redelivered: { token: number; attempt: number }[] = [];
    q.process((job) => void redelivered.push({ token: job.deliveryToken, attempt: job.attempt }));
    await until(() => redelivered.length > 0, { timeoutMs: 60_000 });
    child.signal('SIGCONT');
    const [aborted] = await child.waitFor((l) => l.event === 'aborted' && l.token === first!.token, 1);

    expect(first).toMatchObject({ id, attempt: 1 });
    expect(aborted).toMatchObject({ id, token: first!.token, code: 'LOCK_LOST' });
    expect(redelivered[0]!.token).toBeGreaterThan(Number(first?.token));
    expect(redelivered[0]!.attempt).toBe(1);
    await q.drain({ timeoutMs: 60_000 });
    expect(await q.getJob(id)).toMatchObject({
      state: 'completed',
      deliveryToken: redelivered[0]!.token,
      failures: 0,
    });
    // The stalled worker's late outcome changed nothing.
    expect((await q.counts()).deadLettered).toBe(0);
  }, 120_000);
});

describe('redis-server stopped past a lease', () => {
  it('aborts the lapsed delivery, keeps the worker running, tells the truth about enqueues, and recovers', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const redis = createRedisClient({ url: server.url, commandTimeoutMs: 400 });
    try {
      await redis.ready();
      const leaseMs = 1_000;
      const q = queue(redis, leaseMs);
      // The same queue on the patient client: for the calls that must succeed (a loaded machine
      // can stall a call past the 400 ms deadline that the calls during the stop are about).
      const view = createRedisJobQueue(client, q.name, { leaseMs });
      queues.push(view);
      const aborts: unknown[] = [];
      const done: string[] = [];
      let heldToken: number | undefined;
      q.process(async (job: JobDelivery) => {
        if (job.payload === 'held' && heldToken === undefined) {
          heldToken = job.deliveryToken;
          await new Promise<void>((resolve) =>
            job.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          aborts.push(job.signal.reason);
          return;
        }
        done.push(`${job.payload}:${job.deliveryToken}`);
      });
      const { id } = await view.enqueue('held', { id: `held-${randomUUID()}` });
      await until(async () => (await view.counts()).active === 1, { timeoutMs: 30_000 });

      server.pause();
      await until(() => aborts.length > 0, { timeoutMs: 30_000 });
      expect(isInfrastructureError(aborts[0], 'LOCK_LOST')).toBe(true);
      // An enqueue that times out may have been stored: retryable only with an id of the caller's.
      const noId = await q.enqueue('x').catch((e: unknown) => e);
      const withId = await q.enqueue('x', { id: 'given' }).catch((e: unknown) => e);
      // (CONNECTION when the client already gave the stalled connection up: not sent, retryable.)
      for (const [error, idGiven] of [
        [noId, false],
        [withId, true],
      ] as const) {
        expect(isInfrastructureError(error, 'TIMEOUT') || isInfrastructureError(error, 'CONNECTION')).toBe(
          true,
        );
        const { code, maybeExecuted, retryable } = error as {
          code: string;
          maybeExecuted: boolean;
          retryable: boolean;
        };
        if (code === 'TIMEOUT') expect(maybeExecuted).toBe(true);
        expect(retryable).toBe(!maybeExecuted || idGiven);
      }
      // Reads change nothing when run twice: retryable, whether or not they may have run.
      for (const read of [() => q.counts(), () => q.getJob(id), () => q.deadLetters(), () => q.isPaused()]) {
        const error = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isInfrastructureError(error, 'TIMEOUT') || isInfrastructureError(error, 'CONNECTION')).toBe(
          true,
        );
        expect((error as { retryable: boolean }).retryable).toBe(true);
      }
      server.resume();

      await until(
        async () => {
          try {
            await q.enqueue('after', { id: 'after' });
            return true;
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000 },
      );
      await view.drain({ timeoutMs: 60_000 });
      expect(done.filter((d) => d.startsWith('after:'))).toHaveLength(1);
      // Re-delivered with a higher token.
      const held = done.filter((d) => d.startsWith('held:')).map((d) => Number(d.slice(5)));
      expect(held).toHaveLength(1);
      expect(held[0]).toBeGreaterThan(heldToken!);
      expect(await view.getJob(id)).toMatchObject({ state: 'completed', failures: 0 });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      if (server.isPaused) server.resume();
      await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
      await redis.close();
    }
  }, 120_000);
});

describe('close()', () => {
  it('is bounded when the reply to a completion sent during the shutdown is lost (Redis stopped)', async () => {
    const redis = createRedisClient({ url: server.url, commandTimeoutMs: 300 });
    try {
      await redis.ready();
      const q = queue(redis, 3_000);
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => {
        finish = resolve;
      });
      let started = 0;
      const worker = q.process(
        async () => {
          started += 1;
          await gate;
        },
        { concurrency: 3 },
      );
      // Enqueued on the patient client: only the completions during the stop are about the deadline.
      const view = createRedisJobQueue(client, q.name, { leaseMs: 3_000 });
      queues.push(view);
      await view.enqueueMany([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }]);
      await until(() => started === 3, { timeoutMs: 30_000 });
      server.pause();
      const closed = worker.close({ graceMs: 1_000 });
      // The handlers return within the grace; their completion times out unanswered (it may
      // have run: kept for a reclaim, which nothing but close() would try again now).
      finish();
      let settled = false;
      void closed.then(() => {
        settled = true;
      });
      // Bounded: the grace, then at most the lease for the outcomes (3 s here), with Redis still stopped.
      await until(() => settled, { timeoutMs: 30_000 });
      expect(server.isPaused).toBe(true);
      server.resume();
      // Nothing lost: the completions ran when Redis resumed, or the jobs come back after their lease.
      await until(async () => (await view.counts().catch(() => undefined))?.active === 0, {
        timeoutMs: 30_000,
      });
    } finally {
      if (server.isPaused) server.resume();
      await redis.close();
    }
  }, 60_000);

  it('lets the process exit although a handler ignores its aborted signal', async () => {
    const q = queue(client, 3_000);
    const child = new NodeChild<{ event: string }>(path.join(__dirname, 'fixtures', 'close-exits.ts'), {
      config: { url: server.url, queue: q.name },
    });
    await child.waitFor((l) => l.event === 'closed', 1, 60_000);
    // With the lease renewal still ticking, the process never ends (stop() kills it after the wait).
    let exited = false;
    void child.exited.then(() => {
      exited = true;
    });
    await until(() => exited, { timeoutMs: 20_000 }).catch(() => undefined);
    const alive = child.alive;
    if (alive) await child.stop();
    expect(alive).toBe(false);
    expect(await child.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
