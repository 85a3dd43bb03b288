// Tracing overhead, in one process run on one redis-server started here: Redis GET/SET at c=100
// and c=1 and pipelines of 100 for
//   (a) @voelgoed/redis, tracing off;
//   (b) @voelgoed/redis with the OpenTelemetry SDK (BasicTracerProvider, BatchSpanProcessor into
//       an InMemorySpanExporter, emptied after every run) and @voelgoed/telemetry's
//       instrumentTracing() (spans from the node-redis:command / node-redis:batch channels);
//   (c) node-redis (default settings) with the same SDK and @opentelemetry/instrumentation-redis,
//       what a node-redis user turns on for traces (it patches @redis/client; registered before
//       `redis` is required, and checked to make spans);
//   (d) node-redis (default settings), tracing off;
// then the must-hold ratios b/a and b/c at c=100 in ABBA pairs (see harness.ts pairedRatio), and
// HTTP: @voelgoed/http on the got transport, small JSON GET at c=64, tracing on against off.
// Tracing is switched per run (instrumentTracing()/stop(), the instrumentation's
// enable()/disable()), so every contender runs with only its own tracing on.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingInstrumentation } from '@voelgoed/telemetry/tracing';
import { printTable, type Row, rowsWithRatios, throughput, writeResults } from './harness.ts';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const pairs = Number(process.env.BENCH_PAIRS ?? 10);
const pairMs = Number(process.env.BENCH_PAIR_MS ?? 500);
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

// The SDK as an application sets it up: a context manager, a provider with a batch processor.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const processor = new BatchSpanProcessor(exporter);
const provider = new BasicTracerProvider({ spanProcessors: [processor] });

// Before `redis` is loaded: the instrumentation patches @redis/client as it is required.
const redisInstrumentation = new RedisInstrumentation();
redisInstrumentation.setTracerProvider(provider);
const require = createRequire(import.meta.url);
const { createClient } = require('redis') as typeof import('redis');
// Only now: @voelgoed/redis loads @redis/client too, and a module loaded before the
// instrumentation is never patched (the static imports above would all run before it).
const { createHttpClient } = await import('@voelgoed/http');
const { createRedisClient } = await import('@voelgoed/redis');
const { instrumentTracing } = await import('@voelgoed/telemetry/tracing');
const { startRedis, stopAll } = await import('@voelgoed/testkit');

type Tracing = 'off' | 'ours' | 'node-redis';
let ours: TracingInstrumentation | undefined;
let redisOn = true;
/** Turns on exactly the tracing a contender runs with. */
function setTracing(mode: Tracing): void {
  if (mode === 'ours') ours ??= instrumentTracing({ tracerProvider: provider });
  else if (ours !== undefined) {
    ours.stop();
    ours = undefined;
  }
  if (mode === 'node-redis' && !redisOn) redisInstrumentation.enable();
  if (mode !== 'node-redis' && redisOn) redisInstrumentation.disable();
  redisOn = mode === 'node-redis';
}

/** Spans made since the last call, by instrumentation scope; empties the exporter. */
async function drainSpans(): Promise<Record<string, number>> {
  await processor.forceFlush();
  const byScope: Record<string, number> = {};
  for (const s of exporter.getFinishedSpans()) {
    const scope = (s as unknown as { instrumentationScope?: { name: string } }).instrumentationScope?.name;
    byScope[scope ?? '?'] = (byScope[scope ?? '?'] ?? 0) + 1;
  }
  exporter.reset();
  return byScope;
}

interface Contender {
  name: string;
  tracing: Tracing;
  op: () => Promise<unknown>;
}

/** Runs that took more than 250 ms past their time to finish (an operation stalled). */
const slowRuns: { contender: string; concurrency: number; ms: number; tailMs: number; rate: number }[] = [];

async function run(c: Contender, concurrency: number, ms: number): Promise<number> {
  setTracing(c.tracing);
  // An exporter sends its batches away: the in-memory one is emptied every 100 ms, else a run
  // at 200k spans/s holds hundreds of MB of spans and measures the garbage collector.
  const empty = setInterval(() => exporter.reset(), 100);
  const started = performance.now();
  try {
    const rate = await throughput(c.op, concurrency, ms);
    // A run whose last operations finished long after its time: say so (it drags its rate down).
    const tail = performance.now() - started - ms;
    if (tail > 250)
      slowRuns.push({ contender: c.name, concurrency, ms, tailMs: Math.round(tail), rate: Math.round(rate) });
    return rate;
  } finally {
    clearInterval(empty);
    await drainSpans();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** harness.ts compare(), with each contender's tracing switched on for its runs only. */
async function compare(contenders: Contender[], concurrency: number) {
  for (const c of contenders) await run(c, concurrency, 300);
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      samples.get(c.name)!.push(await run(c, concurrency, durationMs));
    }
  }
  const results = contenders.map((c) => {
    const values = samples.get(c.name)!;
    return { name: c.name, opsPerSec: median(values), rounds: values };
  });
  roundsBy.push({
    concurrency,
    rounds: Object.fromEntries(results.map((r) => [r.name, r.rounds.map(Math.round)])),
  });
  return results;
}
const roundsBy: { concurrency: number; rounds: Record<string, number[]> }[] = [];

/** harness.ts pairedRatio(), with tracing switched per run. */
async function paired(a: Contender, b: Contender, concurrency: number) {
  await run(a, concurrency, pairMs);
  await run(b, concurrency, pairMs);
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = await run(a, concurrency, pairMs);
      y = await run(b, concurrency, pairMs);
    } else {
      y = await run(b, concurrency, pairMs);
      x = await run(a, concurrency, pairMs);
    }
    ratios.push(Number((x / y).toFixed(3)));
  }
  const sorted = [...ratios].sort((p, q) => p - q);
  return { median: median(ratios), min: sorted[0]!, max: sorted.at(-1)!, ratios };
}

const SERVER = `
const http = require('node:http');
const small = JSON.stringify({ ok: true, id: 12345, name: 'bench', tags: ['a', 'b'] });
const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(small) });
    res.end(small);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

async function startHttpServer(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (data: Buffer) => resolve(data.toString().trim()));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

const A = '(a) @voelgoed/redis, tracing off';
const B = '(b) @voelgoed/redis + SDK + instrumentTracing()';
const C = '(c) node-redis default + SDK + instrumentation-redis';
const D = '(d) node-redis default, tracing off';

async function main() {
  const loadBefore = loadavg();
  console.log(`load average before: ${loadBefore} (${os.cpus().length} cores)`);
  const server = await startRedis();
  const oursClient = createRedisClient({ url: server.url, commandTimeoutMs: 5000 });
  await oursClient.ready();
  const nodeRedis = await createClient({ url: server.url })
    .on('error', () => {})
    .connect();
  await oursClient.command(['SET', 'bench:key', 'x'.repeat(64)]);

  let i = 0;
  const oursOp = () =>
    i++ & 1 ? oursClient.command(['GET', 'bench:key']) : oursClient.command(['SET', 'bench:key', 'value']);
  const nodeRedisOp = () =>
    i++ & 1
      ? nodeRedis.sendCommand(['GET', 'bench:key'])
      : nodeRedis.sendCommand(['SET', 'bench:key', 'value']);
  const getSet: Contender[] = [
    { name: A, tracing: 'off', op: oursOp },
    { name: B, tracing: 'ours', op: oursOp },
    { name: C, tracing: 'node-redis', op: nodeRedisOp },
    { name: D, tracing: 'off', op: nodeRedisOp },
  ];

  // Every traced contender makes its spans, and only its own.
  const spanCheck: Record<string, Record<string, number>> = {};
  for (const c of getSet) {
    setTracing(c.tracing);
    await drainSpans();
    for (let k = 0; k < 10; k++) await c.op();
    spanCheck[c.name] = await drainSpans();
  }
  console.log(`spans per 10 commands: ${JSON.stringify(spanCheck)}`);
  const count = (name: string) => Object.values(spanCheck[name] ?? {}).reduce((a, b) => a + b, 0);
  if (count(B) !== 10) throw new Error(`(b) made ${count(B)} spans for 10 commands`);
  if (count(C) !== 10) throw new Error(`(c) made ${count(C)} spans for 10 commands`);
  if (count(A) !== 0 || count(D) !== 0) throw new Error('a tracing-off contender made spans');

  const rows: Row[] = [];
  for (const concurrency of [100, 1]) {
    const results = await compare(getSet, concurrency);
    rows.push(...rowsWithRatios(`GET/SET c=${concurrency}`, results, A));
  }
  const batch = 100;
  const cmds = Array.from({ length: batch }, (_, k) =>
    k & 1 ? ['GET', 'bench:key'] : ['SET', 'bench:key', 'v'],
  );
  const oursPipeline = () => oursClient.pipeline(cmds);
  const nodeRedisPipeline = () => {
    const m = nodeRedis.multi();
    for (const c of cmds) m.addCommand(c);
    return m.execAsPipeline();
  };
  const pipelineResults = await compare(
    [
      { name: A, tracing: 'off', op: oursPipeline },
      { name: B, tracing: 'ours', op: oursPipeline },
      { name: C, tracing: 'node-redis', op: nodeRedisPipeline },
      { name: D, tracing: 'off', op: nodeRedisPipeline },
    ],
    10,
  );
  for (const r of pipelineResults) r.opsPerSec *= batch;
  rows.push(...rowsWithRatios(`pipeline of ${batch}, c=10 (commands/s)`, pipelineResults, A));

  // The must-hold, in ABBA pairs at c=100.
  const [a, b, c, d] = getSet as [Contender, Contender, Contender, Contender];
  const bVsA = await paired(b, a, 100);
  const bVsC = await paired(b, c, 100);
  const cVsD = await paired(c, d, 100);

  // HTTP: got transport, small GET, c=64, tracing on against off.
  const http = await startHttpServer();
  const smallUrl = `${http.url}/small`;
  const oursGot = createHttpClient({
    deadlineMs: 10_000,
    timeoutMs: 5_000,
    maxSocketsPerOrigin: 64,
    transport: 'got',
  });
  const httpOp = async () => (await oursGot.get(smallUrl)).json();
  const httpOff: Contender = { name: '@voelgoed/http (got), tracing off', tracing: 'off', op: httpOp };
  const httpOn: Contender = {
    name: '@voelgoed/http (got) + SDK + instrumentTracing()',
    tracing: 'ours',
    op: httpOp,
  };
  setTracing('ours');
  await httpOp();
  const httpSpans = await drainSpans();
  const httpResults = await compare([httpOff, httpOn], 64);
  rows.push(...rowsWithRatios('HTTP GET small JSON, c=64 (req/s)', httpResults, httpOff.name, 'req/s'));
  const httpOnVsOff = await paired(httpOn, httpOff, 64);
  setTracing('off');
  http.stop();

  const pairedRows: [string, typeof bVsA, number | undefined][] = [
    ['(b) / (a): ours traced / ours off', bVsA, 0.8],
    ['(b) / (c): ours traced / node-redis traced', bVsC, 1.5],
    ['(c) / (d): node-redis traced / node-redis off', cVsD, undefined],
    ['HTTP (got) traced / off, c=64', httpOnVsOff, undefined],
  ];
  for (const [label, r, target] of pairedRows) {
    rows.push({
      scenario: `paired, median of ${pairs} ABBA pairs${label.startsWith('HTTP') ? '' : ', GET/SET c=100'}`,
      contender: `${label} [${r.min.toFixed(2)}..${r.max.toFixed(2)}]${target ? ` (must hold >= ${target})` : ''}`,
      value: r.median,
      unit: 'x',
    });
  }
  printTable(
    'Tracing overhead: Redis and HTTP, tracing on vs off vs node-redis instrumented (same run)',
    rows,
  );
  const loadAfter = loadavg();
  console.log(
    `\nc=100 must-hold: b/a paired ${bVsA.median.toFixed(2)} [${bVsA.min.toFixed(2)}..${bVsA.max.toFixed(2)}] (>= 0.8), ` +
      `b/c paired ${bVsC.median.toFixed(2)} [${bVsC.min.toFixed(2)}..${bVsC.max.toFixed(2)}] (>= 1.5); ` +
      `${slowRuns.length} runs stalled past their time ${JSON.stringify(slowRuns)}; ` +
      `load average before ${loadBefore}, after ${loadAfter}`,
  );
  console.log(
    `results: ${writeResults('tracing', rows, {
      durationMs,
      rounds,
      pairs,
      pairMs,
      spanCheck,
      httpSpans,
      roundsBy,
      slowRuns,
      checks: {
        tracedVsOff: { paired: bVsA.median, pairs: bVsA.ratios, target: 0.8 },
        tracedVsNodeRedisTraced: { paired: bVsC.median, pairs: bVsC.ratios, target: 1.5 },
        nodeRedisTracedVsOff: { paired: cVsD.median, pairs: cVsD.ratios },
        httpTracedVsOff: { paired: httpOnVsOff.median, pairs: httpOnVsOff.ratios },
      },
      loadavg: { before: loadBefore, after: loadAfter },
    })}`,
  );
  await oursClient.close();
  await nodeRedis.close();
  await provider.shutdown();
  await stopAll();
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
