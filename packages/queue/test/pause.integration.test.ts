import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until } from '@voelgoed/testkit';
import { createRedisJobQueue, type RedisJobQueue } from '../src/index.js';
import { type JobWorkerLine, JobWorkerProcess } from './job-worker-process.js';

// Redis paused (SIGSTOP) longer than a lease, with several worker processes (issue 18). The
// in-process version, with one worker, is in faults.integration.test.ts; this one checks that
// every handler whose lease lapsed sees its signal abort while Redis is still stopped (so no
// later than the renewal that could not be made: it does not wait for Redis to answer), that
// the same processes carry on after the resume (no restart), and that every later delivery of
// a job carries a higher token. No time is asserted: every wait is for a condition. The lease is
// 3 s (renewed every second): with 1 s, a child process stalled ~0.7 s on a loaded machine could
// lose a lease before Redis is stopped, and an abort that is not the one under test spoils the counts.
const LEASE_MS = 3_000;
const WORKERS = 3;
const CONCURRENCY = 4;

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
  await Promise.all(children.splice(0).map((c) => c.kill()));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

describe('redis-server stopped (SIGSTOP) past the lease, 3 worker processes', () => {
  it('aborts every lapsed delivery while Redis is stopped; the same processes recover and re-deliver with higher tokens', async () => {
    const q = createRedisJobQueue<{ hold: number }>(client, `pause-${randomUUID()}`, { leaseMs: LEASE_MS });
    queues.push(q as RedisJobQueue);
    // The first delivery of each job holds until its signal aborts; later ones finish at once.
    const held = Array.from({ length: WORKERS * CONCURRENCY }, (_, i) => `held-${i}`);
    await q.enqueueMany(held.map((id) => ({ payload: { hold: 1 }, options: { id, attempts: 1 } })));
    for (let i = 0; i < WORKERS; i++) {
      children.push(
        new JobWorkerProcess({ url: server.url, queue: q.name, leaseMs: LEASE_MS, concurrency: CONCURRENCY }),
      );
    }
    const pids = children.map((c) => c.pid);
    const lines = () => children.flatMap((c) => c.lines);
    const count = (match: (l: JobWorkerLine) => boolean) => lines().filter(match).length;
    // Every slot of every process holds a first delivery.
    await until(() => count((l) => l.event === 'started') === held.length, {
      timeoutMs: 90_000,
    });

    server.pause();
    await until(() => count((l) => l.event === 'aborted') === held.length, { timeoutMs: 60_000 });
    const abortedWhileStopped = lines().filter((l) => l.event === 'aborted');
    expect(server.isPaused).toBe(true);
    server.resume();

    // After the resume: the same processes take the jobs again and finish them, and new ones.
    const after = Array.from({ length: 6 }, (_, i) => `after-${i}`);
    await until(
      async () => {
        try {
          await q.enqueueMany(after.map((id) => ({ payload: { hold: 0 }, options: { id } })));
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000 },
    );
    await q.drain({ timeoutMs: 60_000 });

    const done = lines().filter((l) => l.event === 'done');
    const again = done.filter((l) => held.includes(l.id!)).map((l) => l.token!);
    process.stderr.write(
      `pause: redis-server stopped past a ${LEASE_MS} ms lease with ${WORKERS} worker processes × ${CONCURRENCY}: ` +
        `${abortedWhileStopped.length} of ${held.length} handlers aborted while it was stopped, ` +
        `${again.length} of them delivered again and done after the resume (tokens ${Math.min(...again)}–` +
        `${Math.max(...again)}) and ${done.length - again.length} new jobs, 0 restarts\n`,
    );
    expect(abortedWhileStopped.map((l) => l.id).sort()).toEqual([...held].sort());
    // The first delivery of each id is the one with the lowest token (tokens rise with every
    // delivery). lines() is grouped by process, not ordered in time, so the order of the lines
    // cannot tell which start came first.
    const firstToken = new Map<string, number>();
    for (const l of lines()) {
      if (l.event !== 'started') continue;
      const seen = firstToken.get(l.id!);
      if (seen === undefined || Number(l.token) < seen) firstToken.set(l.id!, Number(l.token));
    }
    for (const l of abortedWhileStopped) {
      expect(l).toMatchObject({ token: firstToken.get(l.id!), code: 'LOCK_LOST' });
    }
    // No process restarted or died; the work after the resume was done by the same processes.
    expect(children.every((c) => c.alive)).toBe(true);
    expect(new Set(done.map((l) => l.pid)).size).toBeGreaterThan(0);
    for (const l of done) expect(pids).toContain(l.pid);
    // Every held job was delivered again with a higher token and finished; so were the new ones.
    const doneIds = done.map((l) => l.id!);
    for (const id of held) {
      const later = done.filter((l) => l.id === id);
      expect(later).toHaveLength(1);
      expect(later[0]!.token).toBeGreaterThan(firstToken.get(id)!);
    }
    for (const id of after) expect(doneIds).toContain(id);
    for (const id of [...held, ...after]) {
      expect(await q.getJob(id)).toMatchObject({ state: 'completed', failures: 0 });
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 180_000);
});

describe('a worker process stopped (SIGSTOP) past its lease while another runs', () => {
  it('the other takes every job with a higher token; the stopped one aborts them all when it resumes and acknowledges none', async () => {
    const q = createRedisJobQueue<{ hold: number }>(client, `stall-${randomUUID()}`, { leaseMs: LEASE_MS });
    queues.push(q as RedisJobQueue);
    const held = Array.from({ length: CONCURRENCY }, (_, i) => `stalled-${i}`);
    await q.enqueueMany(held.map((id) => ({ payload: { hold: 1 }, options: { id, attempts: 1 } })));
    const config = { url: server.url, queue: q.name, leaseMs: LEASE_MS, concurrency: CONCURRENCY };
    const stalled = new JobWorkerProcess(config);
    children.push(stalled);
    await stalled.waitFor((l) => l.event === 'started', held.length, 90_000);
    stalled.signal('SIGSTOP');
    const other = new JobWorkerProcess(config);
    children.push(other);
    await other.waitFor((l) => l.event === 'done', held.length, 90_000);
    stalled.signal('SIGCONT');
    const aborted = await stalled.waitFor((l) => l.event === 'aborted', held.length, 60_000);
    await q.drain({ timeoutMs: 60_000 });

    const done = other.lines.filter((l) => l.event === 'done');
    process.stderr.write(
      `pause: a worker process stopped past a ${LEASE_MS} ms lease holding ${held.length} jobs: ` +
        `${done.length} taken and done by another process (tokens ${done.map((l) => l.token).join(',')}), ` +
        `${aborted.length} aborted in the stopped one after it resumed\n`,
    );
    expect(aborted.map((l) => l.id).sort()).toEqual([...held].sort());
    const firstToken = new Map(
      stalled.lines.filter((l) => l.event === 'started').map((l) => [l.id!, Number(l.token)] as const),
    );
    for (const l of aborted) expect(l).toMatchObject({ token: firstToken.get(l.id!), code: 'LOCK_LOST' });
    for (const l of done) expect(Number(l.token)).toBeGreaterThan(firstToken.get(l.id!)!);
    expect(stalled.lines.filter((l) => l.event === 'done')).toEqual([]);
    expect(done.map((l) => l.id).sort()).toEqual([...held].sort());
    for (const l of done) expect(l.token).toBeGreaterThan(1);
    for (const id of held) {
      const info = await q.getJob(id);
      expect(info).toMatchObject({ state: 'completed', failures: 0 });
      expect(info!.deliveryToken).toBeGreaterThan(1);
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0, deadLettered: 0 });
  }, 180_000);
});
