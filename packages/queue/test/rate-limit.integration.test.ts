import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll } from '@voelgoed/testkit';
import { createRedisJobQueue, isInfrastructureError, type RedisJobQueue } from '../src/index.js';

// A queue's rate limit across workers: two workers, each on its own client and queue object (as
// two processes would be), share `max: 20, perMs: 1000`. Each delivery's start is read on the
// server's clock (TIME, in the handler). Starts come after their permits, however late a loaded
// machine runs them, so the counts checked here are ones no delay can break: since the first
// permit (no earlier than T0, read before the workers started), the k-th start is at least
// (k − burst) × perMs / max later, so no 1-second window since T0 holds more than its share.
// Nothing is asserted on speed.
let server: RedisServer;
const clients: RedisClient[] = [];
const queues: RedisJobQueue[] = [];

beforeAll(async () => {
  server = await startRedis();
}, 60_000);

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stopAll();
});

async function client(): Promise<RedisClient> {
  const c = createRedisClient({ url: server.url });
  clients.push(c);
  await c.ready();
  return c;
}

/** The server's clock, epoch ms with microseconds. */
async function serverMs(c: RedisClient): Promise<number> {
  const [s, us] = (await c.command(['TIME'])) as unknown[];
  return Number(s) * 1000 + Number(us) / 1000;
}

async function run(limit: { max: number; perMs: number; burst?: number }, jobs: number) {
  const name = `rate-${randomUUID()}`;
  const [a, b, recorder] = await Promise.all([client(), client(), client()]);
  const queueA = createRedisJobQueue<number>(a, name, { rateLimit: limit });
  const queueB = createRedisJobQueue<number>(b, name, { rateLimit: limit });
  queues.push(queueA, queueB);
  await queueA.enqueueMany(Array.from({ length: jobs }, (_, i) => ({ payload: i })));
  const starts: number[] = [];
  const seen = new Set<number>();
  const handler = async (job: { payload: number }) => {
    starts.push(await serverMs(recorder));
    seen.add(job.payload);
  };
  const t0 = await serverMs(recorder);
  queueA.process(handler, { concurrency: 10 });
  queueB.process(handler, { concurrency: 10 });
  await queueA.drain({ timeoutMs: 120_000 });
  starts.sort((x, y) => x - y);
  return { t0, starts, seen };
}

/** Starts per 1-second window since `t0`, and the most each window's running total may hold. */
function windows(t0: number, starts: number[], limit: { max: number; perMs: number; burst: number }) {
  const count = Math.ceil((starts[starts.length - 1]! - t0 + 1) / limit.perMs);
  const per = Array.from(
    { length: count },
    (_, w) => starts.filter((s) => s >= t0 + w * limit.perMs && s < t0 + (w + 1) * limit.perMs).length,
  );
  const totals = per.map((_, w) => per.slice(0, w + 1).reduce((x, y) => x + y, 0));
  const allowed = per.map((_, w) => limit.burst + limit.max * (w + 1));
  return { per, totals, allowed };
}

function check(t0: number, starts: number[], limit: { max: number; perMs: number; burst: number }) {
  const interval = limit.perMs / limit.max;
  // The GCRA bound for every start (1 ms of slack for rounding the server's clock).
  const early = starts
    .map((s, i) => ({ k: i + 1, s: s - t0, least: (i + 1 - limit.burst) * interval - 1 }))
    .filter(({ s, least }) => s < least);
  expect(early).toEqual([]);
  const w = windows(t0, starts, limit);
  for (let i = 0; i < w.totals.length; i++) expect(w.totals[i]).toBeLessThanOrEqual(w.allowed[i]!);
  return w;
}

describe('a rate-limited queue', () => {
  it('delivers 60 jobs to 2 workers with no 1-second window over max: 20, perMs: 1000 (even spacing)', async () => {
    const limit = { max: 20, perMs: 1000, burst: 1 };
    const { t0, starts, seen } = await run({ max: 20, perMs: 1000 }, 60);
    expect(seen.size).toBe(60);
    expect(starts).toHaveLength(60);
    const w = check(t0, starts, limit);
    // With a burst of 1 the starts are at least perMs / max apart on the server, so any window
    // of perMs holds at most max of them (checked on the permits' lower bounds above).
    console.log(
      `rate limit (max 20 per 1000 ms, burst 1, 2 workers × concurrency 10): 60 jobs done; starts per ` +
        `1-second window since the workers started: [${w.per.join(', ')}]`,
    );
  }, 150_000);

  it('allows bursts of `burst` and keeps the long-run rate (burst: 20)', async () => {
    const limit = { max: 20, perMs: 1000, burst: 20 };
    const { t0, starts, seen } = await run(limit, 60);
    expect(seen.size).toBe(60);
    const w = check(t0, starts, limit);
    console.log(
      `rate limit (max 20 per 1000 ms, burst 20, 2 workers × concurrency 10): 60 jobs done; starts per ` +
        `1-second window since the workers started: [${w.per.join(', ')}]`,
    );
  }, 150_000);

  it('refuses bad rateLimit values with INVALID_ARGUMENT', async () => {
    const c = await client();
    const bad: unknown[] = [
      null,
      'fast',
      {},
      { max: 20 },
      { perMs: 1000 },
      { max: 0, perMs: 1000 },
      { max: 1.5, perMs: 1000 },
      { max: 20, perMs: 0 },
      { max: 20, perMs: Number.POSITIVE_INFINITY },
      { max: 20, perMs: Number.NaN },
      { max: 20, perMs: 1000, burst: 0 },
      { max: 20, perMs: 1000, burst: 21 },
      { max: 20, perMs: 1000, burst: 2.5 },
      { max: '20', perMs: 1000 },
    ];
    for (const rateLimit of bad) {
      let error: unknown;
      try {
        createRedisJobQueue(c, 'rate-bad', { rateLimit } as never);
      } catch (e) {
        error = e;
      }
      expect([rateLimit, isInfrastructureError(error) && error.code]).toEqual([
        rateLimit,
        'INVALID_ARGUMENT',
      ]);
    }
  });
});
