import { tracingChannel } from 'node:diagnostics_channel';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { type RedisServer, startRedis, stopAll, until as untilTrue } from '@voelgoed/testkit';
import { createRedisJobQueue } from '../src/index.js';
import { fetchScript } from '../src/scripts.js';

// A worker keeps two fetches in flight, each for part of its slots. When one comes back with a
// job and the other, still in flight, comes back with none, the first saw no free slot (the
// other's were reserved) and waited for one: the slot the empty fetch gave back must wake it.
// It did not, so a job enqueued next waited until a running handler finished (here: never).

let server: RedisServer;
let client: RedisClient;
beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
});
afterAll(async () => {
  await client.close();
  await stopAll();
});

it.each([2, 4, 10])(
  'concurrency %i: a slot an empty fetch gives back is used at once (a job enqueued while the others run is started)',
  async (concurrency) => {
    const queue = createRedisJobQueue(client, `slots-${concurrency}-${Date.now()}`);
    // This queue's fetch calls in flight, on node-redis's command channel (as in
    // redis-job-queue.integration.test.ts).
    let fetching = 0;
    const isFetch = (ctx: unknown) => {
      const { command, args } = ctx as { command?: string; args?: readonly unknown[] };
      return command === 'EVALSHA' && args?.[1] === fetchScript.sha1 && String(args[3]).includes(queue.name);
    };
    const handlers = {
      start: (ctx: unknown) => void (isFetch(ctx) && fetching++),
      asyncEnd: (ctx: unknown) => void (isFetch(ctx) && fetching--),
      error: () => {},
      end: () => {},
      asyncStart: () => {},
    };
    const commands = tracingChannel('node-redis:command');
    commands.subscribe(handlers);
    const started: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Enqueued before the worker starts: the first of its fetches takes it, the others none.
    await queue.enqueue('first');
    const worker = queue.process(
      async (job) => {
        started.push(job.payload as string);
        await held;
      },
      { concurrency },
    );
    try {
      const until = async (n: number, what: string) => {
        const deadline = Date.now() + 15_000;
        while (started.length < n) {
          if (Date.now() > deadline)
            throw new Error(`${what}: started ${JSON.stringify(started)} after 15 s`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      await until(1, 'the first job');
      // Every fetch of the start has come back (the first job's was among them): waited for, not
      // slept on, so that on a loaded machine the second job does not go to a fetch still out.
      await untilTrue(() => fetching === 0, { timeoutMs: 15_000 });
      await queue.enqueue('second');
      await until(2, 'a job enqueued while one runs');
      expect(started).toEqual(['first', 'second']);
    } finally {
      commands.unsubscribe(handlers);
      release();
      await worker.close({ graceMs: 1000 });
      await queue.close({ graceMs: 0 });
    }
  },
  60_000,
);

it('never runs more than concurrency handlers, also after a fetch reply is lost (a stalled server, a short command timeout)', async () => {
  const own = await startRedis();
  const redis = createRedisClient({ url: own.url, commandTimeoutMs: 200 });
  const queue = createRedisJobQueue(redis, `slots-lost-${Date.now()}`, { leaseMs: 5000 });
  // The test's own enqueues go through a patient client: on a loaded machine a stall past the
  // 200 ms deadline (meant for the worker's calls during the stop) would fail them.
  const patient = createRedisClient({ url: own.url });
  const view = createRedisJobQueue(patient, queue.name, { leaseMs: 5000 });
  const concurrency = 2;
  let running = 0;
  let most = 0;
  let done = 0;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const worker = queue.process(
    async (job) => {
      running++;
      most = Math.max(most, running);
      try {
        if (job.payload === 'long') await held;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        running--;
        if (job.payload !== 'long') done++;
      }
    },
    { concurrency },
  );
  try {
    // Connected first: a connect on a loaded machine can take most of the 200 ms deadline.
    await redis.ready();
    await view.enqueue('long');
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      await view.enqueueMany(Array.from({ length: 4 }, () => ({ payload: 'short' })));
      // Short jobs keep the free slot's fetches (with their completions) going; a stall of three
      // command timeouts loses the reply of the one in flight.
      await new Promise((resolve) => setTimeout(resolve, 150));
      own.pause();
      await new Promise((resolve) => setTimeout(resolve, 600));
      own.resume();
      const deadline = Date.now() + 20_000;
      while (done < 4 * (round + 1)) {
        if (Date.now() > deadline) throw new Error(`round ${round}: ${done} short jobs done after 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    expect(most).toBe(concurrency);
  } finally {
    if (own.isPaused) own.resume();
    release();
    await worker.close({ graceMs: 1000 });
    await queue.close({ graceMs: 0 });
    await view.close({ graceMs: 0 });
    await redis.close();
    await patient.close();
  }
}, 120_000);
