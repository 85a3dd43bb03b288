import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobQueue } from '@voelgoed/contracts';
import { MemoryJobQueue } from '@voelgoed/contracts/memory';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import {
  type NodeChild,
  type RedisServer,
  startNodeChild,
  startRedis,
  stopAll,
  until,
} from '@voelgoed/testkit';
import {
  createRedisJobQueue,
  isInfrastructureError,
  type JobSchedule,
  MAX_SCHEDULE_NAME_LENGTH,
  parseScheduledJobId,
  type RedisJobQueue,
  scheduledJobId,
  scheduleJob,
} from '../src/index.js';

// Repeatable jobs: every process runs the schedule and a worker, and each tick runs once. Ticks
// are counted by their job ids (`<name>@<tick>`); no time is asserted, every wait is for a
// condition with limits far above what a loaded machine needs.
const EVERY_SECOND = '* * * * * *';

let server: RedisServer;
let client: RedisClient;
const children: NodeChild[] = [];
const schedules: JobSchedule[] = [];
const queues: JobQueue<unknown>[] = [];

beforeAll(async () => {
  server = await startRedis();
  client = createRedisClient({ url: server.url });
  await client.ready();
}, 60_000);

afterEach(async () => {
  for (const s of schedules.splice(0)) s.stop();
  await Promise.all(children.splice(0).map((child) => child.kill()));
  await Promise.all(queues.splice(0).map((q) => q.close({ graceMs: 0 })));
});

afterAll(async () => {
  await client?.close();
  await stopAll();
});

/** A process running the schedule and a worker (fixtures/schedule-process.ts, on src/). */
function startProcess(config: object): { scheduled: Promise<unknown>; stderr: () => string } {
  const child = startNodeChild(path.join(__dirname, 'fixtures', 'schedule-process.ts'), { config });
  children.push(child);
  const scheduled = child.waitFor((line) => line.event === 'scheduled', 1, 120_000);
  scheduled.catch(() => {});
  return { scheduled, stderr: () => child.stderr };
}

/**
 * Runs per tick, in tick order, keyed by the tick's canonical id: two different ids for one tick
 * (a process-specific id, say) count as two runs of it.
 */
function runsPerTick(ids: string[]): Map<string, number> {
  const runs = new Map<string, number>();
  for (const id of ids) {
    const parsed = parseScheduledJobId(id);
    if (parsed?.schedule !== 'report') throw new Error(`not a tick id of the schedule: ${id}`);
    const key = scheduledJobId('report', parsed.tick);
    runs.set(key, (runs.get(key) ?? 0) + 1);
  }
  return new Map([...runs].sort(([a], [b]) => a.localeCompare(b)));
}

function tickMs(id: string): number {
  const parsed = parseScheduledJobId(id);
  if (parsed === undefined) throw new Error(`not a tick id: ${id}`);
  return parsed.tick.getTime();
}

/** Ticks that every scheduler was already running for, up to `count`, and the runs of each. */
function summary(runs: Map<string, number>, after: number, count: number) {
  const ticks = [...runs.keys()].filter((id) => tickMs(id) > after).slice(0, count);
  const first = ticks.length > 0 ? tickMs(ticks[0]!) : 0;
  const last = ticks.length > 0 ? tickMs(ticks[ticks.length - 1]!) : 0;
  return { ticks, counts: ticks.map((id) => runs.get(id)), missed: (last - first) / 1000 + 1 - ticks.length };
}

describe('scheduleJob on Redis, 4 processes', () => {
  it('runs each of 10 ticks once, whatever the number of processes running the schedule', async () => {
    const queueName = `cron-${randomUUID()}`;
    const list = `cron-runs-${randomUUID()}`;
    const config = { url: server.url, queue: queueName, name: 'report', cron: EVERY_SECOND, list };
    const processes = Array.from({ length: 4 }, () => startProcess(config));
    try {
      await Promise.all(processes.map((p) => p.scheduled));
    } catch (error) {
      throw new Error(`${error} ${processes.map((p) => p.stderr()).join(' ')}`);
    }
    const allRunning = Date.now();
    const read = async () =>
      runsPerTick(
        ((await client.command(['LRANGE', list, '0', '-1'])) as unknown[]).map(
          (e) => String(e).split(' ')[0]!,
        ),
      );
    // 12 ticks after every process runs the schedule: the first 10 are counted, and a late
    // duplicate of one of them (stored again by a slow process) would have run by the 12th.
    await until(async () => [...(await read()).keys()].filter((id) => tickMs(id) > allRunning).length >= 12, {
      timeoutMs: 90_000,
    });
    const runs = await read();
    const { ticks, counts, missed } = summary(runs, allRunning, 10);
    const runners = new Set(
      ((await client.command(['LRANGE', list, '0', '-1'])) as unknown[]).map((e) => String(e).split(' ')[1]),
    );
    console.log(
      `cron: ${ticks.length} ticks, 4 processes each running the schedule and a worker, runs per tick: ` +
        `[${counts.join(', ')}]; ${runs.size} ticks run in all, each ${[...new Set(runs.values())].join('/')} time(s), ` +
        `by ${runners.size} different processes; ticks skipped: ${missed}`,
    );
    expect(ticks).toHaveLength(10);
    expect(counts).toEqual(Array(10).fill(1));
    // Every tick ever run (those before all four were up included) ran once.
    for (const [id, n] of runs) expect([id, n]).toEqual([id, 1]);
    for (const id of ticks) {
      const parsed = parseScheduledJobId(id)!;
      expect(parsed.schedule).toBe('report');
      expect(parsed.tick.getUTCMilliseconds()).toBe(0);
    }
    const q = createRedisJobQueue(client, queueName);
    queues.push(q);
    expect((await q.getJob(ticks[0]!))?.state).toBe('completed');
  }, 150_000);
});

describe('scheduleJob on MemoryJobQueue', () => {
  it('runs each of 10 ticks once with 4 schedules on one queue (as 4 processes would)', async () => {
    const queue = new MemoryJobQueue<{ report: string }>('cron-memory');
    queues.push(queue as JobQueue<unknown>);
    const ran: string[] = [];
    const payloads: unknown[] = [];
    queue.process(
      (job) => {
        ran.push(job.id);
        payloads.push(job.payload);
      },
      { concurrency: 2 },
    );
    queue.process((job) => void ran.push(job.id));
    for (let i = 0; i < 4; i++) {
      schedules.push(
        await scheduleJob(queue, { name: 'report', cron: EVERY_SECOND, payload: { report: 'daily' } }),
      );
    }
    const allRunning = Date.now();
    await until(() => [...runsPerTick(ran).keys()].filter((id) => tickMs(id) > allRunning).length >= 12, {
      timeoutMs: 90_000,
    });
    const runs = runsPerTick(ran);
    const { ticks, counts, missed } = summary(runs, allRunning, 10);
    console.log(
      `cron (memory): ${ticks.length} ticks, 4 schedules on one MemoryJobQueue, runs per tick: [${counts.join(', ')}]; ticks skipped: ${missed}`,
    );
    expect(counts).toEqual(Array(10).fill(1));
    for (const [id, n] of runs) expect([id, n]).toEqual([id, 1]);
    expect(payloads.every((p) => JSON.stringify(p) === '{"report":"daily"}')).toBe(true);
  }, 150_000);

  it('stores the next tick ahead, in the schedule’s time zone, as a delayed job with the tick’s id', async () => {
    const queue = new MemoryJobQueue('cron-zone');
    queues.push(queue);
    // 09:00 in Tokyo (UTC+9, no daylight saving) is 00:00 UTC.
    const schedule = await scheduleJob(queue, {
      name: 'tokyo-morning',
      cron: '0 9 * * *',
      timezone: 'Asia/Tokyo',
      payload: null,
      priority: 'high',
    });
    schedules.push(schedule);
    const now = new Date();
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    expect(schedule.nextTick).toEqual(midnight);
    const id = scheduledJobId('tokyo-morning', midnight);
    expect(id).toBe(`tokyo-morning@${midnight.toISOString()}`);
    expect((await queue.getJob(id))?.state).toBe('delayed');
    expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 1, active: 0 });
    // Scheduling again (another process, a restart) stores nothing new.
    schedules.push(
      await scheduleJob(queue, {
        name: 'tokyo-morning',
        cron: '0 9 * * *',
        timezone: 'Asia/Tokyo',
        payload: null,
      }),
    );
    expect((await queue.counts()).delayed).toBe(1);
  });

  it('stores no more ticks after stop() (the one already stored still runs)', async () => {
    const queue = new MemoryJobQueue('cron-stop');
    queues.push(queue);
    const ran: string[] = [];
    queue.process((job) => void ran.push(job.id));
    const schedule = await scheduleJob(queue, { name: 'once', cron: EVERY_SECOND, payload: 1 });
    const stored = schedule.nextTick!;
    schedule.stop();
    expect(schedule.nextTick).toBeUndefined();
    await until(() => ran.length >= 1, { timeoutMs: 30_000 });
    // Two more ticks' time: a schedule still running would have stored and run them.
    const after = tickMs(ran[0]!) + 2_500;
    await until(() => Date.now() > after, { timeoutMs: 30_000 });
    await queue.drain({ timeoutMs: 30_000 });
    expect(ran).toEqual([scheduledJobId('once', stored)]);
  }, 60_000);
});

describe('parseScheduledJobId', () => {
  it('gives back the schedule and the tick, and nothing for other ids', () => {
    const tick = new Date('2026-12-06T12:00:00.000Z');
    expect(parseScheduledJobId(scheduledJobId('a@b', tick))).toEqual({ schedule: 'a@b', tick });
    for (const id of ['plain', '@2026-12-06T12:00:00.000Z', 'x@2026-12-06', 'x@not a date', 'x@']) {
      expect(parseScheduledJobId(id)).toBeUndefined();
    }
  });
});

describe('scheduleJob with bad input', () => {
  async function expectInvalid(run: () => Promise<unknown>, message?: RegExp) {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isInfrastructureError(error)).toBe(true);
    expect((error as { code?: string }).code).toBe('INVALID_ARGUMENT');
    if (message) expect((error as Error).message).toMatch(message);
  }

  let redisQueue: RedisJobQueue;
  beforeAll(() => {
    redisQueue = createRedisJobQueue(client, `cron-bad-${randomUUID()}`);
  });
  afterAll(() => redisQueue.close());

  const base = { name: 'n', cron: EVERY_SECOND, payload: 1 };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a pattern croner refuses', { cron: 'every day' }, /cron/],
    ['an out-of-range field', { cron: '61 * * * *' }, /cron/],
    ['an empty pattern', { cron: '  ' }, /cron/],
    ['a pattern that is not a string', { cron: 5 }, /cron/],
    ['a date instead of a pattern', { cron: '2030-01-01T00:00:00' }, /cron|date/],
    ['a pattern with no future tick', { cron: '* * * * * * 2020' }, /future|cron/],
    ['an unknown time zone', { timezone: 'Mars/Olympus_Mons' }, /time ?zone/],
    ['an empty time zone', { timezone: '' }, /time ?zone/],
    ['an empty name', { name: '' }, /name/],
    ['a name too long for a job id', { name: 'x'.repeat(MAX_SCHEDULE_NAME_LENGTH + 1) }, /name/],
    ['a name with a lone surrogate', { name: 'a\uD800' }, /surrogate/],
    ['no payload', { payload: undefined }, /payload/],
    ['a payload that is not JSON', { payload: () => 1 }, /payload/],
    ['bad attempts', { attempts: 0 }, /attempts/],
    ['a bad priority', { priority: 'urgent' }, /priority/],
    ['a bad timeout', { timeoutMs: -1 }, /timeoutMs/],
    ['an onError that is not a function', { onError: 'log' }, /onError/],
  ];
  it.each(cases)('refuses %s before anything is stored', async (_, change, message) => {
    await expectInvalid(() => scheduleJob(redisQueue, { ...base, ...change } as never), message);
    expect(await redisQueue.counts()).toMatchObject({ waiting: 0, delayed: 0, active: 0 });
  });

  it('refuses a queue that forgets job ids too soon (a late tick could run twice)', async () => {
    const q = createRedisJobQueue(client, `cron-retention-${randomUUID()}`, { retentionMs: 1_000 });
    queues.push(q);
    await expectInvalid(() => scheduleJob(q, base), /retention/);
    expect(await q.counts()).toMatchObject({ waiting: 0, delayed: 0 });
  });

  it('refuses what is not a queue, and options that are not an object', async () => {
    await expectInvalid(() => scheduleJob({} as never, base));
    await expectInvalid(() => scheduleJob(null as never, base));
    await expectInvalid(() => scheduleJob(redisQueue, undefined as never));
    await expectInvalid(() => scheduleJob(redisQueue, 'n' as never));
  });
});
