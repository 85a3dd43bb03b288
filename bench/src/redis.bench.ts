// @voelgoed/redis command()/pipeline() against raw node-redis (default settings, and with its
// per-command timeout off) and ioredis, on one redis-server started here, plus redis-benchmark
// on the same server as the ceiling; then large replies (LRANGE/HGETALL of 10k-200k items, GET
// of 1/8 MiB text and binary values): time per call, the longest event-loop stall, byte-exact
// binary replies; then deployments: command() GET/SET at c=100 on a standalone server, a Redis
// Cluster and Sentinel, each beside raw node-redis on the same servers. BENCH_ONLY=small, large
// or deployments (comma-separated for several) runs only those parts.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisClient, keySlot, type RedisClient } from '@voelgoed/redis';
import {
  type RedisServer,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
  stopAll,
} from '@voelgoed/testkit';
import { Redis as IORedis } from 'ioredis';
import { createClient, createCluster, createSentinel, RESP_TYPES } from 'redis';
import {
  compare,
  pairedRatio,
  printTable,
  type Row,
  rowsWithRatios,
  type ThroughputResult,
  writeResults,
} from './harness.ts';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Timed calls per contender and large-reply workload; unset: fitted to BENCH_LARGE_BUDGET_MS. */
const largeCalls = process.env.BENCH_LARGE_CALLS ? Number(process.env.BENCH_LARGE_CALLS) : undefined;
/** Time the timed calls of one large-reply workload should take, all contenders together. */
const largeBudgetMs = Number(process.env.BENCH_LARGE_BUDGET_MS ?? 2500);
/**
 * At least this many timed calls: with 3, one garbage collection landing in a call moved the
 * 200k/100k scaling figure from about 2.0 to nearly 3 for every contender alike.
 */
const LARGE_MIN_CALLS = 7;

const SECTIONS = ['small', 'large', 'deployments'] as const;
type Section = (typeof SECTIONS)[number];
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of only) {
  if (!(SECTIONS as readonly string[]).includes(s))
    throw new Error(`BENCH_ONLY=${s}: unknown section (known: ${SECTIONS.join(', ')})`);
}
const runs = (section: Section) => only.length === 0 || only.includes(section);

function redisBenchmark(port: number, concurrency: number, pipeline: number): number {
  const out = spawnSync(
    'redis-benchmark',
    [
      '-p',
      String(port),
      '-t',
      'get,set',
      '-n',
      '200000',
      '-c',
      String(concurrency),
      '-P',
      String(pipeline),
      '-q',
      '--csv',
    ],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) return 0;
  // "GET","123456.79",...
  const rates = out.stdout
    .split('\n')
    .filter((l) => /^"(GET|SET)"/.test(l))
    .map((l) => Number(l.split(',')[1]?.replace(/"/g, '')));
  return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
}

async function connect(url: string, port: number) {
  const ours = createRedisClient({ url, commandTimeoutMs: 5000 });
  await ours.ready();
  const nodeRedisDefault = await createClient({ url }).connect();
  const nodeRedisNoTimeout = await createClient({
    url,
    commandOptions: { timeout: 0 },
  }).connect();
  const ioredis = new IORedis({ port, host: '127.0.0.1', lazyConnect: true });
  await ioredis.connect();
  return { ours, nodeRedisDefault, nodeRedisNoTimeout, ioredis };
}
type Clients = Awaited<ReturnType<typeof connect>>;

/** GET/SET at c=1 and c=100, pipelines, the redis-benchmark ceiling and the paired targets. */
async function smallReplies(
  port: number,
  { ours, nodeRedisDefault, nodeRedisNoTimeout, ioredis }: Clients,
): Promise<{ rows: Row[]; checks: Record<string, unknown> }> {
  await ours.command(['SET', 'bench:key', 'x'.repeat(64)]);

  let i = 0;
  const getSet = {
    ours: () => (i++ & 1 ? ours.command(['GET', 'bench:key']) : ours.command(['SET', 'bench:key', 'value'])),
    nodeRedisDefault: () =>
      i++ & 1
        ? nodeRedisDefault.sendCommand(['GET', 'bench:key'])
        : nodeRedisDefault.sendCommand(['SET', 'bench:key', 'value']),
    nodeRedisNoTimeout: () =>
      i++ & 1
        ? nodeRedisNoTimeout.sendCommand(['GET', 'bench:key'])
        : nodeRedisNoTimeout.sendCommand(['SET', 'bench:key', 'value']),
    ioredis: () => (i++ & 1 ? ioredis.get('bench:key') : ioredis.set('bench:key', 'value')),
  };
  const contenders = [
    { name: '@voelgoed/redis command() (5 s deadline)', op: getSet.ours },
    { name: 'node-redis default (5 s timeout)', op: getSet.nodeRedisDefault },
    { name: 'node-redis timeout off', op: getSet.nodeRedisNoTimeout },
    { name: 'ioredis', op: getSet.ioredis },
  ];
  const rows: Row[] = [];
  for (const concurrency of [1, 100]) {
    const results = await compare(contenders, { concurrency, durationMs, rounds });
    rows.push(...rowsWithRatios(`GET/SET c=${concurrency}`, results, 'node-redis timeout off'));
  }

  const batch = 100;
  const cmds = Array.from({ length: batch }, (_, k) =>
    k & 1 ? ['GET', 'bench:key'] : ['SET', 'bench:key', 'v'],
  );
  // ioredis names pipeline commands by its method names (lower case).
  const ioredisCmds = cmds.map(([name, ...rest]) => [name!.toLowerCase(), ...rest]);
  const pipelineContenders = [
    { name: '@voelgoed/redis pipeline()', op: () => ours.pipeline(cmds) },
    {
      name: 'node-redis multi().execAsPipeline()',
      op: () => {
        const m = nodeRedisNoTimeout.multi();
        for (const c of cmds) m.addCommand(c);
        return m.execAsPipeline();
      },
    },
    { name: 'ioredis pipeline().exec()', op: () => ioredis.pipeline(ioredisCmds).exec() },
  ];
  const pipelineResults = await compare(pipelineContenders, { concurrency: 10, durationMs, rounds });
  // Report commands per second, not batches.
  for (const r of pipelineResults) r.opsPerSec *= batch;
  rows.push(
    ...rowsWithRatios(
      `pipeline of ${batch}, c=10 (commands/s)`,
      pipelineResults,
      'node-redis multi().execAsPipeline()',
    ),
  );

  // redis-benchmark -c 100 opens 100 connections with one command in flight on each: not a
  // ceiling for one multiplexed connection with 100 callers. -c 1 -P 100 (one connection, 100
  // commands per round trip) is the closer one for c=100.
  const ceiling = [
    { scenario: 'GET/SET c=1', flags: '-c 1 -P 1', value: redisBenchmark(port, 1, 1) },
    { scenario: 'GET/SET c=100', flags: '-c 100 -P 1', value: redisBenchmark(port, 100, 1) },
    { scenario: 'GET/SET c=100', flags: '-c 1 -P 100', value: redisBenchmark(port, 1, 100) },
    {
      scenario: `pipeline of ${batch}, c=10 (commands/s)`,
      flags: `-c 10 -P ${batch}`,
      value: redisBenchmark(port, 10, batch),
    },
  ];
  for (const c of ceiling) {
    if (c.value > 0)
      rows.push({
        scenario: c.scenario,
        contender: `redis-benchmark ${c.flags} (ceiling)`,
        value: Math.round(c.value),
        unit: 'ops/s',
      });
  }

  // The targets, measured again in ABBA pairs (see pairedRatio): one table round per contender
  // is seconds apart from the next, and this machine's load swings within seconds.
  const vsOff = await pairedRatio(getSet.ours, getSet.nodeRedisNoTimeout, { concurrency: 100, pairs: 10 });
  const vsDefault = await pairedRatio(getSet.ours, getSet.nodeRedisDefault, { concurrency: 100, pairs: 10 });
  const at100 = rows.filter((r) => r.scenario === 'GET/SET c=100');
  const checks = {
    vsNodeRedisTimeoutOff: { paired: vsOff.median, pairs: vsOff.ratios, target: 0.95 },
    vsNodeRedisDefault: { paired: vsDefault.median, pairs: vsDefault.ratios, target: 2.5 },
  };
  for (const [contender, ratio] of [
    ['node-redis timeout off', vsOff.median],
    ['node-redis default (5 s timeout)', vsDefault.median],
  ] as const) {
    rows.push({
      scenario: 'GET/SET c=100, paired (median of 10 ABBA pairs)',
      contender: `@voelgoed/redis vs ${contender}`,
      value: ratio,
      unit: 'x',
    });
  }
  const base = at100.find((r) => r.contender === 'node-redis timeout off')?.value ?? 1;
  const dflt = at100.find((r) => r.contender.startsWith('node-redis default'))?.value ?? 1;
  const oursRow = at100.find((r) => r.contender.startsWith('@voelgoed'))?.value ?? 0;
  console.log(
    `\nc=100 targets: ours / node-redis (timeout off) = paired ${vsOff.median.toFixed(2)} [${Math.min(...vsOff.ratios).toFixed(2)}..${Math.max(...vsOff.ratios).toFixed(2)}], table ${(oursRow / base).toFixed(2)} (target >= 0.95); ` +
      `ours / node-redis (default) = paired ${vsDefault.median.toFixed(2)} [${Math.min(...vsDefault.ratios).toFixed(2)}..${Math.max(...vsDefault.ratios).toFixed(2)}], table ${(oursRow / dflt).toFixed(2)} (target >= 2.5)`,
  );
  printTable('Redis: @voelgoed/redis vs node-redis vs ioredis (one redis-server, same run)', rows);
  return { rows, checks };
}

// ---------------------------------------------------------------------------------------------
// Large replies: one call at a time (c=1), so a call's time is the reply's transfer plus its
// decoding, and the event-loop stall is what that decoding does to everything else in the
// process (a 1 s stall delays every timer, socket and request of the application by 1 s).

/** Our `command()` options with `returnBuffers` (being added to the client's CommandOptions). */
type OursCommandOptions = { timeoutMs?: number; returnBuffers?: boolean };
/** Per call: the old decoder needs seconds for the largest replies; the bench must not time out. */
const LARGE_TIMEOUT_MS = 120_000;

const OURS = '@voelgoed/redis command()';
const NODE_REDIS = 'node-redis sendCommand() (timeout off)';
const IOREDIS = 'ioredis';
const LARGE_BASELINE = 'node-redis (its ms / this ms)';

interface LargeWorkload {
  scenario: string;
  /** LRANGE/HGETALL workloads, for the 200k/100k scaling figure. */
  family?: 'LRANGE' | 'HGETALL';
  size?: number;
  binary?: boolean;
  /** The command every contender sends, as INFO commandstats names it (`lrange`). */
  command: string;
  contenders: { name: string; op: () => Promise<unknown> }[];
  /** Whether a reply is the expected one (byte for byte, for the binary workloads). */
  check: (reply: unknown) => boolean;
}

interface LargeResult {
  name: string;
  /** Median time per call. */
  ms: number;
  msPerCall: number[];
  /** Longest event-loop stall seen during the timed calls, and its median over them. */
  stallMs: number;
  medianStallMs: number;
  stallPerCall: number[];
  /** The warm-up call's stall (first use: JIT, buffers growing); not in `stallMs`. */
  warmupStallMs: number;
  /** Every reply (warm-up included) was the expected one: byte-exact for the binary workloads. */
  ok: boolean;
  errors: string[];
}

/**
 * Event-loop stall probe: perf_hooks' monitorEventLoopDelay at a 1 ms resolution. It is a libuv
 * timer whose ticks are recorded in C++, so the probe runs no JavaScript and makes no garbage in
 * the loop it measures: a setInterval(…, 1) probe would run a JS callback 1,000 times a second
 * between the contender's parsing and GC, and a setImmediate chain would keep one of the two
 * cores busy that redis-server needs. Its `max` is the longest gap between two ticks (1 ms when
 * nothing blocks), i.e. the longest time the loop could not turn.
 */
const stallProbe = monitorEventLoopDelay({ resolution: 1 });

async function timedCall(
  op: () => Promise<unknown>,
): Promise<{ ms: number; stallMs: number; value?: unknown; error?: string }> {
  stallProbe.reset();
  stallProbe.enable();
  // Gaps are measured from the probe's first tick: let it tick before the call starts.
  await sleep(2);
  const started = performance.now();
  let value: unknown;
  let error: string | undefined;
  try {
    value = await op();
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const ms = performance.now() - started;
  // The probe records a gap when its next tick runs, and a reply decoded in one synchronous
  // block resolves (and this code continues) before the timers phase comes round: wait for a
  // tick, or the stall that ended with the reply would go unrecorded.
  await sleep(2);
  stallProbe.disable();
  return { ms, stallMs: stallProbe.max / 1e6, value, ...(error ? { error } : {}) };
}

/** A row with what the table does not print, kept in the JSON. */
interface LargeRow extends Row {
  name: string;
  stallMs: number;
  medianStallMs: number;
  warmupStallMs: number;
  msPerCall: number[];
  stallPerCall: number[];
  binaryOk?: boolean;
  replyOk?: boolean;
  errors?: string[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/**
 * One warm-up call per contender, then `calls` rounds of one call per contender, round-robin with
 * the first contender rotating every round (whoever follows a contender inherits its garbage,
 * and a 200k-element reply leaves a lot). Unless BENCH_LARGE_CALLS says, `calls` is fitted to
 * the warm-up: as many as fit BENCH_LARGE_BUDGET_MS, odd, 7 to 15.
 */
/**
 * The server's own time per call of one command over the timed rounds (INFO commandstats'
 * usec_per_call after a CONFIG RESETSTAT): the part of every contender's time that no client
 * can change. HGETALL of a 200k-field hash costs redis-server itself more than twice its 100k
 * time, so the scaling rows also give the client's share, with this subtracted.
 */
interface ServerClock {
  reset(): Promise<void>;
  msPerCall(command: string): Promise<number>;
}

async function measureLarge(
  w: LargeWorkload,
  server: ServerClock,
): Promise<{ results: LargeResult[]; serverMs: number }> {
  const acc = w.contenders.map((c) => ({
    ...c,
    msPerCall: [] as number[],
    stallPerCall: [] as number[],
    warmupMs: 0,
    warmupStallMs: 0,
    ok: true,
    errors: [] as string[],
  }));
  const round = async (r: number, warmup: boolean) => {
    for (let k = 0; k < acc.length; k++) {
      const a = acc[(r + k) % acc.length]!;
      const call = await timedCall(a.op);
      const stallMs = Number(call.stallMs.toFixed(1));
      if (warmup) a.warmupStallMs = stallMs;
      else a.stallPerCall.push(stallMs);
      if (call.error !== undefined) {
        a.ok = false;
        a.errors.push(call.error);
        continue;
      }
      if (!w.check(call.value)) a.ok = false;
      if (warmup) a.warmupMs = call.ms;
      else a.msPerCall.push(Number(call.ms.toFixed(2)));
    }
  };
  await round(0, true);
  await server.reset();
  const warmupTotal = acc.reduce((t, a) => t + a.warmupMs, 0);
  let calls =
    largeCalls ??
    Math.max(LARGE_MIN_CALLS, Math.min(15, Math.floor(largeBudgetMs / Math.max(warmupTotal, 1))));
  if (largeCalls === undefined && calls % 2 === 0) calls--;
  for (let r = 1; r <= calls; r++) await round(r, false);
  const serverMs = await server.msPerCall(w.command);
  const results = acc.map((a) => ({
    name: a.name,
    ms: median(a.msPerCall),
    msPerCall: a.msPerCall,
    stallMs: Math.max(...a.stallPerCall),
    medianStallMs: median(a.stallPerCall),
    stallPerCall: a.stallPerCall,
    warmupStallMs: a.warmupStallMs,
    ok: a.ok,
    errors: a.errors,
  }));
  return { results, serverMs };
}

const pad6 = (i: number) => String(i).padStart(6, '0');

/**
 * 8 MiB (or any size) that no UTF-8 round trip survives: random bytes, and every 64 KiB + 1
 * (so TCP reads and the parser's chunks cut them at every offset somewhere) all 256 byte values,
 * invalid UTF-8 (a lone continuation byte, an overlong encoding, a cut-off sequence, a surrogate,
 * a code point above U+10FFFF, 0xFE/0xFF) and bytes that look like RESP; it ends in the middle of
 * a sequence.
 */
function binaryValue(size: number): Buffer {
  const value = randomBytes(size);
  const stamp = Buffer.concat([
    Buffer.from(Array.from({ length: 256 }, (_, b) => b)),
    Buffer.from([0x80, 0xc0, 0xaf, 0xe2, 0x82, 0x41, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xfe, 0xff]),
    Buffer.from('\r\n$5\r\nhello\r\n*2\r\n:1\r\n-ERR no\r\n'),
  ]);
  for (let at = 0; at + stamp.length <= size; at += 65_537) stamp.copy(value, at);
  value[size - 2] = 0xe2;
  value[size - 1] = 0x82;
  return value;
}

/** Large-reply workloads, their data written to the server first. */
async function largeWorkloads({ ours, nodeRedisNoTimeout, ioredis }: Clients): Promise<LargeWorkload[]> {
  const text: OursCommandOptions = { timeoutMs: LARGE_TIMEOUT_MS };
  const buffers: OursCommandOptions = { timeoutMs: LARGE_TIMEOUT_MS, returnBuffers: true };
  // Widened, not cast: until `returnBuffers` is in CommandOptions, ours ignores it (and returns
  // a string, which the binary check reports); once it is, nothing here changes.
  const oursText: Parameters<typeof ours.command>[1] = text;
  const oursBuffers: Parameters<typeof ours.command>[1] = buffers;
  // node-redis 6 speaks RESP3 by default, where HGETALL is a map it turns into an object; mapped
  // to Array it returns the flat [field, value, …] list ours (RESP2) and ioredis return.
  const nodeRedisFlatMaps = nodeRedisNoTimeout.withTypeMapping({ [RESP_TYPES.MAP]: Array });
  const nodeRedisBuffers = nodeRedisNoTimeout.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const batch = 10_000;
  const workloads: LargeWorkload[] = [];

  for (const n of [10_000, 100_000, 200_000]) {
    const key = `bench:large:list:${n}`;
    await ours.command(['DEL', key]);
    for (let i = 0; i < n; i += batch) {
      const items = Array.from({ length: Math.min(batch, n - i) }, (_, j) => `item:${pad6(i + j)}`);
      await ours.command(['RPUSH', key, ...items], oursText);
    }
    const last = `item:${pad6(n - 1)}`;
    workloads.push({
      scenario: `large: LRANGE 0 -1, ${n.toLocaleString('en-US')} elements`,
      family: 'LRANGE',
      size: n,
      command: 'lrange',
      contenders: [
        { name: OURS, op: () => ours.command(['LRANGE', key, 0, -1], oursText) },
        { name: NODE_REDIS, op: () => nodeRedisNoTimeout.sendCommand(['LRANGE', key, '0', '-1']) },
        { name: IOREDIS, op: () => ioredis.lrange(key, 0, -1) },
      ],
      check: (r) => Array.isArray(r) && r.length === n && r[0] === 'item:000000' && r[n - 1] === last,
    });
  }

  for (const n of [10_000, 100_000, 200_000]) {
    const key = `bench:large:hash:${n}`;
    await ours.command(['DEL', key]);
    for (let i = 0; i < n; i += batch) {
      const pairs = Array.from({ length: Math.min(batch, n - i) }, (_, j) => [
        `field:${pad6(i + j)}`,
        `value:${pad6(i + j)}`,
      ]).flat();
      await ours.command(['HSET', key, ...pairs], oursText);
    }
    workloads.push({
      scenario: `large: HGETALL, ${n.toLocaleString('en-US')} fields`,
      family: 'HGETALL',
      size: n,
      command: 'hgetall',
      contenders: [
        { name: OURS, op: () => ours.command(['HGETALL', key], oursText) },
        { name: NODE_REDIS, op: () => nodeRedisFlatMaps.sendCommand(['HGETALL', key]) },
        // Upper case: ioredis keys its HGETALL-to-object reply transformer by the lower-case
        // name, so call('HGETALL') returns the same flat list as the other two.
        { name: IOREDIS, op: () => ioredis.call('HGETALL', key) },
      ],
      check: (r) =>
        Array.isArray(r) &&
        r.length === 2 * n &&
        typeof r[0] === 'string' &&
        r[0].startsWith('field:') &&
        typeof r[1] === 'string' &&
        r[1] === `value:${r[0].slice('field:'.length)}`,
    });
  }

  for (const mib of [1, 8]) {
    const key = `bench:large:text:${mib}`;
    const line = `${'the quick brown fox jumps over the lazy dog 0123456789'.padEnd(63, '.')}\n`;
    const expected = line.repeat((mib * 2 ** 20) / line.length);
    await ours.command(['SET', key, expected], oursText);
    workloads.push({
      scenario: `large: GET ${mib} MiB text`,
      command: 'get',
      contenders: [
        { name: OURS, op: () => ours.command(['GET', key], oursText) },
        { name: NODE_REDIS, op: () => nodeRedisNoTimeout.sendCommand(['GET', key]) },
        { name: IOREDIS, op: () => ioredis.get(key) },
      ],
      check: (r) => r === expected,
    });
  }

  for (const mib of [1, 8]) {
    const key = `bench:large:binary:${mib}`;
    const expected = binaryValue(mib * 2 ** 20);
    await ours.command(['SET', key, expected], oursText);
    workloads.push({
      // ours: command(…, { returnBuffers: true }); node-redis: BLOB_STRING mapped to Buffer;
      // ioredis: getBuffer().
      scenario: `large: GET ${mib} MiB binary, as Buffer`,
      binary: true,
      command: 'get',
      contenders: [
        { name: OURS, op: () => ours.command(['GET', key], oursBuffers) },
        { name: NODE_REDIS, op: () => nodeRedisBuffers.sendCommand(['GET', key]) },
        { name: IOREDIS, op: () => ioredis.getBuffer(key) },
      ],
      check: (r) => Buffer.isBuffer(r) && r.equals(expected),
    });
  }
  return workloads;
}

async function largeReplies(clients: Clients): Promise<{ rows: Row[]; summary: Record<string, unknown> }> {
  const started = performance.now();
  const workloads = await largeWorkloads(clients);
  const filledSeconds = (performance.now() - started) / 1000;
  const rows: Row[] = [];
  const measured: { workload: LargeWorkload; results: LargeResult[]; serverMs: number }[] = [];
  const server: ServerClock = {
    reset: async () => {
      await clients.ours.command(['CONFIG', 'RESETSTAT']);
    },
    msPerCall: async (command) => {
      const info = String(await clients.ours.command(['INFO', 'commandstats']));
      const usec = new RegExp(`^cmdstat_${command}:.*usec_per_call=([0-9.]+)`, 'm').exec(info)?.[1];
      return usec === undefined ? Number.NaN : Number(usec) / 1000;
    },
  };
  for (const workload of workloads) {
    const { results, serverMs } = await measureLarge(workload, server);
    measured.push({ workload, results, serverMs });
    rows.push({
      scenario: workload.scenario,
      contender: `redis-server's own time per call (INFO commandstats; in every contender's time)`,
      value: Number(serverMs.toFixed(serverMs < 10 ? 2 : 1)),
      unit: 'ms/call',
    });
    const base = results.find((r) => r.name === NODE_REDIS)?.ms;
    const line = results.map(
      (r) => `${r.name} ${r.ms.toFixed(1)} ms (stall ${r.stallMs.toFixed(0)} ms${r.ok ? '' : ', WRONG'})`,
    );
    console.log(`${workload.scenario}: ${line.join('; ')}`);
    for (const r of results) {
      const flags = [
        `stall max ${r.stallMs.toFixed(1)} ms, median ${r.medianStallMs.toFixed(1)} ms`,
        `${r.msPerCall.length} calls`,
        ...(workload.binary ? [`binaryOk ${r.ok}`] : r.ok ? [] : ['WRONG REPLY']),
        ...(r.errors.length ? [`${r.errors.length} failed: ${r.errors[0]}`] : []),
      ];
      const row: LargeRow = {
        scenario: workload.scenario,
        contender: `${r.name} [${flags.join(', ')}]`,
        value: Number(r.ms.toFixed(r.ms < 10 ? 2 : 1)),
        unit: 'ms/call',
        ...(base && r.ms ? { ratio: Number((base / r.ms).toFixed(3)), baseline: LARGE_BASELINE } : {}),
        name: r.name,
        stallMs: r.stallMs,
        medianStallMs: r.medianStallMs,
        warmupStallMs: r.warmupStallMs,
        msPerCall: r.msPerCall,
        stallPerCall: r.stallPerCall,
        ...(workload.binary ? { binaryOk: r.ok } : { replyOk: r.ok }),
        ...(r.errors.length ? { errors: r.errors } : {}),
      };
      rows.push(row);
    }
  }

  // time(200k)/time(100k): 2.0 is linear; more means each element costs more as the reply grows.
  const scaling: Record<string, Record<string, number>> = {};
  for (const family of ['LRANGE', 'HGETALL'] as const) {
    const at = (size: number) =>
      measured.find((m) => m.workload.family === family && m.workload.size === size);
    const [m100, m200] = [at(100_000), at(200_000)];
    if (!m100 || !m200) continue;
    scaling[family] = {};
    const serverFactor = Number((m200.serverMs / m100.serverMs).toFixed(2));
    scaling[family]['redis-server'] = serverFactor;
    rows.push({
      scenario: `large: ${family} time(200k) / time(100k) (2.00 = linear)`,
      contender: `redis-server's own time (${m100.serverMs.toFixed(1)} → ${m200.serverMs.toFixed(1)} ms)`,
      value: serverFactor,
      unit: 'x',
    });
    for (const r of m200.results) {
      const r100 = m100.results.find((x) => x.name === r.name);
      if (!r100) continue;
      const factor = Number((r.ms / r100.ms).toFixed(2));
      // The client's share: its time less the server's own, at both sizes.
      const clientFactor = Number(((r.ms - m200.serverMs) / (r100.ms - m100.serverMs)).toFixed(2));
      scaling[family][r.name] = factor;
      scaling[family][`${r.name}, less server time`] = clientFactor;
      rows.push(
        {
          scenario: `large: ${family} time(200k) / time(100k) (2.00 = linear)`,
          contender: r.name,
          value: factor,
          unit: 'x',
        },
        {
          scenario: `large: ${family} time(200k) / time(100k) (2.00 = linear)`,
          contender: `${r.name}, less redis-server's own time`,
          value: clientFactor,
          unit: 'x',
        },
      );
    }
  }
  const seconds = (performance.now() - started) / 1000;
  printTable(
    `Redis large replies: median ms per call (c=1), longest event-loop stall, ratio = node-redis ms / this ms (> 1: faster than node-redis); ${seconds.toFixed(0)} s`,
    rows,
  );
  const binaryOk = Object.fromEntries(
    measured
      .filter((m) => m.workload.binary)
      .map((m) => [m.workload.scenario, Object.fromEntries(m.results.map((r) => [r.name, r.ok]))]),
  );
  console.log(`\nlarge replies: binaryOk ${JSON.stringify(binaryOk)}; scaling ${JSON.stringify(scaling)}`);
  return {
    rows,
    summary: {
      seconds: Number(seconds.toFixed(1)),
      fillSeconds: Number(filledSeconds.toFixed(1)),
      calls: largeCalls ?? `fitted to ${largeBudgetMs} ms per workload (${LARGE_MIN_CALLS}..15)`,
      stallProbe: 'perf_hooks.monitorEventLoopDelay, resolution 1 ms, max gap between ticks',
      scaling,
      binaryOk,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Deployments: command() GET/SET at c=100 (the op of the "GET/SET c=100" rows) on the three
// deployments a client can be given. Standalone runs on our own RESP connection; Cluster and
// Sentinel run on node-redis underneath (RESP2, its per-command timeout off, our swept deadline
// on top), so beside each is raw node-redis with the same settings on the same servers: what
// our layer costs there. Interleaved as everywhere: one warm-up each, rotated rounds.

const STANDALONE = '@voelgoed/redis standalone';
const CLUSTER_TAG = '@voelgoed/redis cluster, one hash tag';
const CLUSTER_SPREAD = '@voelgoed/redis cluster, keys over all masters';
const SENTINEL = '@voelgoed/redis sentinel';
const RAW_CLUSTER_TAG = 'node-redis createCluster, one hash tag (timeout off, RESP2)';
const RAW_CLUSTER_SPREAD = 'node-redis createCluster, keys over all masters (timeout off, RESP2)';
const RAW_MASTER = 'node-redis createClient on the master (timeout off, RESP2)';
const RAW_SENTINEL =
  'node-redis createSentinel pool 1, reserveClient false (timeout off, RESP2), + one .then()';
const RAW_SENTINEL_BARE = 'node-redis createSentinel reserveClient false, bare sendCommand() loop';
const RAW_SENTINEL_RESERVED = 'node-redis createSentinel reserveClient: true (timeout off, RESP2)';

/** One hash tag: every command goes to the one master that owns the tag's slot. */
const TAG_KEY = '{bench}:key';
/** Keys without a tag, spread over the slots (and so the masters) of the cluster. */
const SPREAD_KEYS = Array.from({ length: 48 }, (_, k) => `bench:spread:${k}`);

/** Alternating SET and GET, as in the "GET/SET c=100" rows; `keys` cycled, one key per SET+GET. */
function getSetOp(
  keys: readonly string[],
  send: (args: string[], key: string, readonly: boolean) => Promise<unknown>,
): () => Promise<unknown> {
  let i = 0;
  return () => {
    const n = i++;
    const key = keys[(n >> 1) % keys.length]!;
    return n & 1 ? send(['GET', key], key, true) : send(['SET', key, 'value'], key, false);
  };
}

/** The per-round ratios a/b (the two ran within seconds of each other) and their median. */
function roundRatios(
  results: ThroughputResult[],
  a: string,
  b: string,
): { median: number; ratios: number[] } {
  const ra = results.find((r) => r.name === a)?.rounds ?? [];
  const rb = results.find((r) => r.name === b)?.rounds ?? [];
  const ratios = ra.map((x, k) => Number((x / (rb[k] ?? Number.NaN)).toFixed(3)));
  return { median: median(ratios), ratios };
}

/** Port of the master serving each key, from the cluster's own CLUSTER SLOTS. */
async function slotOwners(node: RedisServer, keys: readonly string[]): Promise<number[]> {
  const reply = await node.call(['CLUSTER', 'SLOTS']);
  const ranges = (Array.isArray(reply) ? reply : []).map((r) => {
    const [start, end, master] = r as [number, number, [string, number]];
    return { start: Number(start), end: Number(end), port: Number(master[1]) };
  });
  return keys.map((key) => {
    const slot = keySlot(key);
    return ranges.find((r) => slot >= r.start && slot <= r.end)?.port ?? -1;
  });
}

async function deployments(
  standalone: RedisServer,
): Promise<{ rows: Row[]; summary: Record<string, unknown> }> {
  const started = performance.now();
  const [cluster, group] = await Promise.all([startRedisCluster(), startRedisSentinel()]);
  const startSeconds = (performance.now() - started) / 1000;
  const master = await group.currentMasterServer();
  const errors: string[] = [];
  const onError = (who: string) => (e: unknown) => {
    if (errors.length < 20) errors.push(`${who}: ${e instanceof Error ? e.message : String(e)}`);
  };

  const oursStandalone = createRedisClient({ url: standalone.url });
  const oursCluster = createRedisClient({ cluster: { nodes: cluster.seeds.slice(0, 1) } });
  const oursSentinel = createRedisClient({
    sentinel: { name: group.masterName, sentinels: group.sentinelAddresses },
  });
  const rawCluster = createCluster({
    rootNodes: [{ url: cluster.urls[0]! }],
    commandOptions: { timeout: 0 },
    RESP: 2,
  });
  rawCluster.on('error', onError('createCluster'));
  const rawMaster = createClient({ url: master.url, commandOptions: { timeout: 0 }, RESP: 2 });
  rawMaster.on('error', onError('createClient (master)'));
  // As ours is configured underneath (one master connection, no reserved client), and with the
  // master connection reserved, which skips the per-command lease.
  const sentinelOptions = (reserveClient: boolean) => ({
    name: group.masterName,
    sentinelRootNodes: group.sentinelAddresses,
    commandOptions: { timeout: 0 },
    RESP: 2 as const,
    masterPoolSize: 1,
    reserveClient,
  });
  const rawSentinel = createSentinel(sentinelOptions(false));
  rawSentinel.on('error', onError('createSentinel'));
  const rawSentinelReserved = createSentinel(sentinelOptions(true));
  rawSentinelReserved.on('error', onError('createSentinel reserveClient'));

  try {
    await Promise.all([
      oursStandalone.ready(),
      oursCluster.ready(),
      oursSentinel.ready(),
      rawCluster.connect(),
      rawMaster.connect(),
      rawSentinel.connect(),
      rawSentinelReserved.connect(),
    ]);

    // The same data everywhere; the checks make sure every contender reaches the server meant.
    const value = 'x'.repeat(64);
    for (const c of [oursStandalone, oursCluster, oursSentinel]) await c.command(['SET', TAG_KEY, value]);
    for (const key of SPREAD_KEYS) await oursCluster.command(['SET', key, value]);
    if ((await master.call(['GET', TAG_KEY])) !== value)
      throw new Error('ours (sentinel) did not write to the master the sentinels name');
    if ((await rawCluster.sendCommand<string>(TAG_KEY, true, ['GET', TAG_KEY])) !== value)
      throw new Error('node-redis createCluster does not read what ours (cluster) wrote');
    const tagOwner = (await slotOwners(cluster.nodes[0]!, [TAG_KEY]))[0];
    const spreadOwners = await slotOwners(cluster.nodes[0]!, SPREAD_KEYS);
    const spreadMasters = new Set(spreadOwners).size;

    const ours = (c: RedisClient) => (args: string[]) => c.command(args);
    const op = {
      standalone: getSetOp([TAG_KEY], ours(oursStandalone)),
      clusterTag: getSetOp([TAG_KEY], ours(oursCluster)),
      clusterSpread: getSetOp(SPREAD_KEYS, ours(oursCluster)),
      sentinel: getSetOp([TAG_KEY], ours(oursSentinel)),
      rawClusterTag: getSetOp([TAG_KEY], (args, key, ro) => rawCluster.sendCommand(key, ro, args)),
      rawClusterSpread: getSetOp(SPREAD_KEYS, (args, key, ro) => rawCluster.sendCommand(key, ro, args)),
      rawMaster: getSetOp([TAG_KEY], (args) => rawMaster.sendCommand(args)),
      // Without the reserved client, createSentinel leases its master connection to the commands
      // in flight and hands it back when none is left. A loop that sends its next command in the
      // microtask that settles the last one (the bare loop) finds the lease just handed to a
      // waiting caller and queues behind it: one command in flight at a time. One .then() (or any
      // work after the await) lets it join the commands in flight; ours has such a step.
      rawSentinel: getSetOp([TAG_KEY], (args, _key, ro) => rawSentinel.sendCommand(ro, args).then((r) => r)),
      rawSentinelBare: getSetOp([TAG_KEY], (args, _key, ro) => rawSentinel.sendCommand(ro, args)),
      rawSentinelReserved: getSetOp([TAG_KEY], (args, _key, ro) => rawSentinelReserved.sendCommand(ro, args)),
    };

    const concurrency = 100;
    const rows: Row[] = [];
    const byDeployment = await compare(
      [
        { name: STANDALONE, op: op.standalone },
        { name: CLUSTER_TAG, op: op.clusterTag },
        { name: CLUSTER_SPREAD, op: op.clusterSpread },
        { name: SENTINEL, op: op.sentinel },
      ],
      { concurrency, durationMs, rounds },
    );
    rows.push(...rowsWithRatios('deployments: GET/SET c=100, ours by deployment', byDeployment, STANDALONE));
    const clusterTag = await compare(
      [
        { name: CLUSTER_TAG, op: op.clusterTag },
        { name: RAW_CLUSTER_TAG, op: op.rawClusterTag },
      ],
      { concurrency, durationMs, rounds },
    );
    rows.push(
      ...rowsWithRatios('deployments: cluster, GET/SET c=100, one hash tag', clusterTag, RAW_CLUSTER_TAG),
    );
    const clusterSpread = await compare(
      [
        { name: CLUSTER_SPREAD, op: op.clusterSpread },
        { name: RAW_CLUSTER_SPREAD, op: op.rawClusterSpread },
      ],
      { concurrency, durationMs, rounds },
    );
    rows.push(
      ...rowsWithRatios(
        `deployments: cluster, GET/SET c=100, ${SPREAD_KEYS.length} keys over ${spreadMasters} masters`,
        clusterSpread,
        RAW_CLUSTER_SPREAD,
      ),
    );
    const sentinel = await compare(
      [
        { name: SENTINEL, op: op.sentinel },
        { name: RAW_SENTINEL, op: op.rawSentinel },
        { name: RAW_SENTINEL_BARE, op: op.rawSentinelBare },
        { name: RAW_SENTINEL_RESERVED, op: op.rawSentinelReserved },
        { name: RAW_MASTER, op: op.rawMaster },
      ],
      { concurrency, durationMs, rounds },
    );
    rows.push(
      ...rowsWithRatios('deployments: sentinel, GET/SET c=100 (master has a replica)', sentinel, RAW_MASTER),
    );

    // Ratios of runs made within the same round (seconds apart), median over the rounds: less
    // exposed to this machine's load swings than the ratio of the medians above.
    const ratios = {
      clusterTagVsStandalone: roundRatios(byDeployment, CLUSTER_TAG, STANDALONE),
      clusterSpreadVsStandalone: roundRatios(byDeployment, CLUSTER_SPREAD, STANDALONE),
      sentinelVsStandalone: roundRatios(byDeployment, SENTINEL, STANDALONE),
      clusterTagVsNodeRedis: roundRatios(clusterTag, CLUSTER_TAG, RAW_CLUSTER_TAG),
      clusterSpreadVsNodeRedis: roundRatios(clusterSpread, CLUSTER_SPREAD, RAW_CLUSTER_SPREAD),
      sentinelVsCreateSentinel: roundRatios(sentinel, SENTINEL, RAW_SENTINEL),
      sentinelVsReserved: roundRatios(sentinel, SENTINEL, RAW_SENTINEL_RESERVED),
      sentinelVsMasterClient: roundRatios(sentinel, SENTINEL, RAW_MASTER),
    };
    const labels: Record<keyof typeof ratios, string> = {
      clusterTagVsStandalone: 'ours cluster (one hash tag) / ours standalone',
      clusterSpreadVsStandalone: 'ours cluster (keys over all masters) / ours standalone',
      sentinelVsStandalone: 'ours sentinel / ours standalone',
      clusterTagVsNodeRedis: 'ours cluster / node-redis createCluster, one hash tag',
      clusterSpreadVsNodeRedis: 'ours cluster / node-redis createCluster, keys over all masters',
      sentinelVsCreateSentinel:
        'ours sentinel / node-redis createSentinel reserveClient false, + one .then()',
      sentinelVsReserved: 'ours sentinel / node-redis createSentinel reserveClient: true',
      sentinelVsMasterClient: 'ours sentinel / node-redis createClient on the master',
    };
    for (const [k, r] of Object.entries(ratios) as [
      keyof typeof ratios,
      (typeof ratios)[keyof typeof ratios],
    ][]) {
      rows.push({
        scenario: 'deployments: paired, median of per-round ratios',
        contender: labels[k],
        value: r.median,
        unit: 'x',
      });
    }
    const seconds = (performance.now() - started) / 1000;
    printTable(
      `Redis deployments: command() GET/SET c=100, ours vs raw node-redis on the same servers; ${seconds.toFixed(0)} s (${startSeconds.toFixed(1)} s to start the servers)`,
      rows,
    );
    console.log(
      `\ndeployments: ${Object.entries(ratios)
        .map(
          ([k, r]) => `${labels[k as keyof typeof ratios]} ${r.median.toFixed(2)}x [${r.ratios.join(', ')}]`,
        )
        .join('; ')}${errors.length ? `\nerrors: ${errors.join(' | ')}` : ''}`,
    );
    return {
      rows,
      summary: {
        seconds: Number(seconds.toFixed(1)),
        startSeconds: Number(startSeconds.toFixed(1)),
        concurrency,
        cluster: { masters: cluster.nodes.length, replicas: 0, tagKey: TAG_KEY, tagMasterPort: tagOwner },
        spread: { keys: SPREAD_KEYS.length, masters: spreadMasters },
        sentinel: { masterPort: master.port, replicas: 1, sentinels: group.sentinels.length },
        ratios,
        errors,
      },
    };
  } finally {
    await Promise.allSettled([oursStandalone.close(), oursCluster.close(), oursSentinel.close()]);
    await Promise.allSettled([
      rawCluster.close(),
      rawMaster.close(),
      rawSentinel.close(),
      rawSentinelReserved.close(),
    ]);
    await Promise.allSettled([cluster.stop(), group.stop()]);
  }
}

async function main() {
  const server = await startRedis();
  const clients = runs('small') || runs('large') ? await connect(server.url, server.port) : undefined;
  const rows: Row[] = [];
  const extra: Record<string, unknown> = { durationMs, rounds };
  if (only.length) extra.only = only;
  if (clients && runs('small')) {
    const small = await smallReplies(server.port, clients);
    rows.push(...small.rows);
    extra.checks = small.checks;
  }
  // Before the large replies, which leave this process's heap and the server full.
  if (runs('deployments')) {
    const deployed = await deployments(server);
    rows.push(...deployed.rows);
    extra.deployments = deployed.summary;
  }
  if (clients && runs('large')) {
    const large = await largeReplies(clients);
    rows.push(...large.rows);
    extra.large = large.summary;
  }
  console.log(`results: ${writeResults('redis', rows, extra)}`);

  if (clients) {
    await clients.ours.close();
    await clients.nodeRedisDefault.close();
    await clients.nodeRedisNoTimeout.close();
    clients.ioredis.disconnect();
  }
  await stopAll();
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
