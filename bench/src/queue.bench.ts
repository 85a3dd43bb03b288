// @voelgoed/queue against BullMQ 6.7.6 (on ioredis 6, its default client, one shared connection
// with `maxRetriesPerRequest: null` as its docs show; the Worker opens its own blocking one), on
// one redis-server (no persistence), one process run. The scenarios of BullMQ's own benchmark
// suite (taskforcesh/bullmq-bench: queue-add, queue-add-bulk, worker-generic,
// worker-concurrent; its job data is one sample object of 10 × 10 nested UUID keys, about 4 KB
// of JSON, the same for every job; its handlers do nothing), with the sizes of issue 18, each
// with that 4 KB data and with a small job (about 70 bytes of JSON, the size most jobs have):
//   - add one at a time, each awaited before the next (1,000 jobs) → jobs/s;
//   - add in bulks of 50 (10,000 jobs: enqueueMany / addBulk) → jobs/s;
//   - process at concurrency 1 (1,000 jobs added beforehand, untimed; from the worker's creation
//     until its handler has run for the last job, as BullMQ's suite counts) → jobs/s;
//   - process at concurrency 100 (10,000 jobs, the same way) → jobs/s;
//   - enqueue-to-start latency: a producer on a 1 ms timer enqueues 1,000 jobs/s for 5 s (not
//     awaiting each), a worker at concurrency 10 is already running; each job carries its
//     enqueue time (performance.now()) and the handler takes (its start − that), one clock.
// Settings: BullMQ `removeOnComplete: true` (a completed job is deleted), ours `retentionMs: 0`
// (the same); a row "ours, default retention" shows concurrency 100 with completed ids kept a day.
// Every run gets a fresh queue name, and the database is emptied after it by deleting its keys,
// not by FLUSHDB: a flush also hands the freed memory back to the OS (a jemalloc purge; seen on
// Redis 7.0.15 here: about one page fault per 4 KB job in the next run against ~0.02 after DEL),
// so every run would start on a cold heap and pay a fault per retained payload (~14 µs each on
// these VMs, more than all the rest of our enqueue script, the same for both sides), which a
// queue in service does not pay: it reuses the memory of the jobs it finished. Each scenario: one
// warm-up run per contender, then BENCH_ROUNDS rounds (default 5; latency 3) in a rotating
// order; the median round counts. Ratios: ours / BullMQ for jobs/s, BullMQ p99 / ours p99 for
// latency (> 1: ours is faster in both). Env: BENCH_ROUNDS, BENCH_LATENCY_ROUNDS,
// BENCH_LATENCY_MS, BENCH_ONLY=add,process,latency (comma-separated), BENCH_QUEUE_PAYLOADS
// ('70 B,4 KB').
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisJobQueue, type RedisJobQueue } from '@voelgoed/queue';
import { createRedisClient, type RedisClient } from '@voelgoed/redis';
import { startRedis, stopAll } from '@voelgoed/testkit';
import { Queue, Worker } from 'bullmq';
import { Redis as IORedis } from 'ioredis';
import { printTable, type Row, writeResults } from './harness.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const latencyRounds = Number(process.env.BENCH_LATENCY_ROUNDS ?? 3);
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 5000);
const SECTIONS = ['add', 'process', 'latency'] as const;
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s))
    throw new Error(`BENCH_ONLY=${s}: unknown section (known: ${SECTIONS.join(', ')})`);
}
const runs = (section: (typeof SECTIONS)[number]) => only.length === 0 || only.includes(section);

/** BullMQ's suite: `generateSampleDataObject(10, 10)`, 10 chains of 10 nested UUID keys. */
function sampleData(width = 10, depth = 10): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < width; i++) {
    let node: Record<string, unknown> = {};
    out[randomUUID()] = node;
    for (let j = 1; j < depth; j++) {
      const inner: Record<string, unknown> = {};
      node[randomUUID()] = inner;
      node = inner;
    }
  }
  return out;
}
/** Job data: BullMQ's suite's sample (about 4 KB of JSON) and a small one (about 70 bytes). */
const PAYLOADS: Record<string, unknown> = {
  '4 KB': sampleData(),
  '70 B': { to: 'someone@example.com', subject: 'Welcome', account: 42 },
};
const payloads = (process.env.BENCH_QUEUE_PAYLOADS ?? '70 B,4 KB').split(',').map((p) => p.trim());
for (const p of payloads) {
  if (!(p in PAYLOADS))
    throw new Error(`BENCH_QUEUE_PAYLOADS=${p}: unknown (known: ${Object.keys(PAYLOADS).join(', ')})`);
}

type Handler = (payload: unknown) => void;

/** What a scenario needs of a queue library; one fresh queue per run. */
interface Contender {
  name: string;
  open(queueName: string): Promise<Side>;
}
interface Side {
  add(data: unknown): Promise<unknown>;
  addBulk(data: unknown[]): Promise<unknown>;
  /** Starts a worker at once (BullMQ's connects on its own). */
  work(concurrency: number, handler: Handler): { close(): Promise<void> };
  close(): Promise<void>;
}

function ours(redis: RedisClient, name: string, retentionMs: number | undefined): Contender {
  return {
    name,
    async open(queueName) {
      const q: RedisJobQueue = createRedisJobQueue(
        redis,
        queueName,
        retentionMs === undefined ? {} : { retentionMs },
      );
      return {
        add: (data) => q.enqueue(data as never),
        addBulk: (list) => q.enqueueMany(list.map((payload) => ({ payload: payload as never }))),
        work(concurrency, handler) {
          const w = q.process(
            (job) => {
              handler(job.payload);
            },
            { concurrency },
          );
          return { close: () => w.close() };
        },
        close: () => q.close(),
      };
    },
  };
}

function bullmq(connection: IORedis): Contender {
  return {
    name: 'BullMQ 6.7.6',
    async open(queueName) {
      const q = new Queue(queueName, { connection, defaultJobOptions: { removeOnComplete: true } });
      await q.waitUntilReady();
      return {
        add: (data) => q.add('test', data),
        addBulk: (list) => q.addBulk(list.map((data) => ({ name: 'test', data }))),
        work(concurrency, handler) {
          const w = new Worker(
            queueName,
            async (job) => {
              handler(job.data);
            },
            { connection, concurrency },
          );
          w.on('error', () => {});
          return { close: () => w.close() };
        },
        close: () => q.close(),
      };
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

let runNo = 0;
const freshName = () => `bench-${process.pid}-${++runNo}`;

/** One timed run of `body` on a fresh queue; the database is emptied afterwards. */
async function onFreshQueue<T>(
  flush: () => Promise<unknown>,
  contender: Contender,
  body: (side: Side) => Promise<T>,
): Promise<T> {
  const side = await contender.open(freshName());
  try {
    return await body(side);
  } finally {
    await side.close();
    await flush();
  }
}

interface Scenario {
  name: string;
  /** One run: returns jobs/s. */
  run(side: Side): Promise<number>;
}

const addOne = (n: number, label: string, data: unknown): Scenario => ({
  name: `add one at a time (${n.toLocaleString('en-US')}), ${label}`,
  async run(side) {
    const started = performance.now();
    for (let i = 0; i < n; i++) await side.add(data);
    return n / ((performance.now() - started) / 1000);
  },
});

const addBulk = (n: number, size: number, label: string, data: unknown): Scenario => ({
  name: `add in bulks of ${size} (${n.toLocaleString('en-US')}), ${label}`,
  async run(side) {
    const bulk = Array.from({ length: size }, () => data);
    const started = performance.now();
    for (let i = 0; i < n; i += size) await side.addBulk(bulk);
    return n / ((performance.now() - started) / 1000);
  },
});

const processAt = (n: number, concurrency: number, label: string, data: unknown): Scenario => ({
  name: `process at concurrency ${concurrency} (${n.toLocaleString('en-US')}), ${label}`,
  async run(side) {
    const bulk = Array.from({ length: 500 }, () => data);
    for (let i = 0; i < n; i += bulk.length) await side.addBulk(bulk.slice(0, Math.min(500, n - i)));
    let done = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const started = performance.now();
    const worker = side.work(concurrency, () => {
      if (++done === n) finish();
    });
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await worker.close();
    return n / seconds;
  },
});

async function throughputScenario(
  flush: () => Promise<unknown>,
  scenario: Scenario,
  contenders: Contender[],
  baseline: string,
  rows: Row[],
  extra: Record<string, unknown>,
): Promise<void> {
  for (const c of contenders) await onFreshQueue(flush, c, (side) => scenario.run(side));
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      samples.get(c.name)!.push(await onFreshQueue(flush, c, (side) => scenario.run(side)));
    }
  }
  const base = median(samples.get(baseline)!);
  for (const c of contenders) {
    const value = median(samples.get(c.name)!);
    rows.push({
      scenario: scenario.name,
      contender: c.name,
      value: Math.round(value),
      unit: 'jobs/s',
      ...(c.name === baseline ? {} : { ratio: Number((value / base).toFixed(3)), baseline }),
    });
  }
  extra[scenario.name] = Object.fromEntries([...samples].map(([k, v]) => [k, v.map(Math.round)]));
}

/** Enqueue-to-start latency at a steady rate; returns every job's latency in ms, sorted. */
async function latencyRun(side: Side, ratePerSec: number, ms: number): Promise<number[]> {
  const latencies: number[] = [];
  const worker = side.work(10, (payload) => {
    latencies.push(performance.now() - (payload as { t: number }).t);
  });
  await sleep(200); // the worker is up and idle before the first job
  const adds: Promise<unknown>[] = [];
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(Math.floor((elapsed * ratePerSec) / 1000), Math.floor((ms * ratePerSec) / 1000));
      while (sent < due) {
        sent++;
        adds.push(side.add({ t: performance.now() }));
      }
      if (elapsed >= ms) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(adds);
  const until = performance.now() + 10_000;
  while (latencies.length < sent && performance.now() < until) await sleep(10);
  await worker.close();
  if (latencies.length < sent) throw new Error(`latency run: ${latencies.length} of ${sent} jobs started`);
  return latencies.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  console.log(
    `queue bench: load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${os.cpus().length} cores), rounds ${rounds}`,
  );
  const server = await startRedis({ name: 'queue-bench' });
  const redis = createRedisClient({ url: server.url });
  await redis.ready();
  const io = new IORedis({ host: server.host, port: server.port, maxRetriesPerRequest: null });
  // Empties the database keeping the server's heap warm (see the header): DEL, not FLUSHDB.
  const flush = () =>
    redis.command([
      'EVAL',
      "local ks = redis.call('KEYS', '*') for i = 1, #ks, 1000 do redis.call('DEL', unpack(ks, i, math.min(i + 999, #ks))) end return #ks",
      '0',
    ]);
  const matched = ours(redis, '@voelgoed/queue', 0);
  const bull = bullmq(io);
  const contenders = [matched, bull];
  const baseline = bull.name;
  const rows: Row[] = [];
  const extra: Record<string, unknown> = {
    payloadBytes: Object.fromEntries(
      payloads.map((p) => [p, Buffer.byteLength(JSON.stringify(PAYLOADS[p]))]),
    ),
    loadavgBefore: os.loadavg(),
  };
  try {
    for (const label of payloads) {
      const data = PAYLOADS[label];
      if (runs('add')) {
        await throughputScenario(flush, addOne(1000, label, data), contenders, baseline, rows, extra);
        await throughputScenario(flush, addBulk(10_000, 50, label, data), contenders, baseline, rows, extra);
      }
      if (runs('process')) {
        await throughputScenario(flush, processAt(1000, 1, label, data), contenders, baseline, rows, extra);
        await throughputScenario(
          flush,
          processAt(10_000, 100, label, data),
          [...contenders, ours(redis, '@voelgoed/queue, default retention', undefined)],
          baseline,
          rows,
          extra,
        );
      }
    }
    if (runs('latency')) {
      const samples = new Map<string, { p50: number; p99: number }[]>(contenders.map((c) => [c.name, []]));
      for (const c of contenders) await onFreshQueue(flush, c, (side) => latencyRun(side, 1000, 1000));
      for (let r = 0; r < latencyRounds; r++) {
        for (let k = 0; k < contenders.length; k++) {
          const c = contenders[(r + k) % contenders.length]!;
          const sorted = await onFreshQueue(flush, c, (side) => latencyRun(side, 1000, latencyMs));
          samples.get(c.name)!.push({ p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
        }
      }
      const scenario = `enqueue-to-start at 1,000 jobs/s for ${latencyMs / 1000} s, worker c=10`;
      const baseP99 = median(samples.get(baseline)!.map((s) => s.p99));
      for (const c of contenders) {
        const s = samples.get(c.name)!;
        const p50 = median(s.map((x) => x.p50));
        const p99 = median(s.map((x) => x.p99));
        rows.push({
          scenario: `${scenario}: p50`,
          contender: c.name,
          value: Number(p50.toFixed(2)),
          unit: 'ms',
        });
        rows.push({
          scenario: `${scenario}: p99`,
          contender: c.name,
          value: Number(p99.toFixed(2)),
          unit: 'ms',
          // Lower is better here: the ratio is BullMQ p99 / ours, so > 1 means ours is faster.
          ...(c.name === baseline ? {} : { ratio: Number((baseP99 / p99).toFixed(3)), baseline }),
        });
      }
      extra.latencyRounds = Object.fromEntries(samples);
    }
  } finally {
    await io.quit().catch(() => {});
    await redis.close();
    await stopAll();
  }
  extra.loadavgAfter = os.loadavg();
  printTable('@voelgoed/queue vs BullMQ (ratio: ours/BullMQ jobs/s; latency: BullMQ p99 / ours p99)', rows);
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; JSON bytes per job: ${JSON.stringify(extra.payloadBytes)}`,
  );
  console.log(`wrote ${writeResults('queue', rows, extra)}`);
}

await main();
