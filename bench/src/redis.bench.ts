// @voelgoed/redis command()/pipeline() against raw node-redis (default settings, and with its
// per-command timeout off) and ioredis, on one redis-server started here, plus redis-benchmark
// on the same server as the ceiling.
import { spawnSync } from 'node:child_process';
import { createRedisClient } from '@voelgoed/redis';
import { startRedis, stopAll } from '@voelgoed/testkit';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { compare, pairedRatio, printTable, type Row, rowsWithRatios, writeResults } from './harness.ts';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

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

async function main() {
  const server = await startRedis();
  const ours = createRedisClient({ url: server.url, commandTimeoutMs: 5000 });
  await ours.ready();
  const nodeRedisDefault = await createClient({ url: server.url }).connect();
  const nodeRedisNoTimeout = await createClient({
    url: server.url,
    commandOptions: { timeout: 0 },
  }).connect();
  const ioredis = new IORedis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
  await ioredis.connect();
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
    { scenario: 'GET/SET c=1', flags: '-c 1 -P 1', value: redisBenchmark(server.port, 1, 1) },
    { scenario: 'GET/SET c=100', flags: '-c 100 -P 1', value: redisBenchmark(server.port, 100, 1) },
    { scenario: 'GET/SET c=100', flags: '-c 1 -P 100', value: redisBenchmark(server.port, 1, 100) },
    {
      scenario: `pipeline of ${batch}, c=10 (commands/s)`,
      flags: `-c 10 -P ${batch}`,
      value: redisBenchmark(server.port, 10, batch),
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
  console.log(`results: ${writeResults('redis', rows, { checks, durationMs, rounds })}`);

  await ours.close();
  await nodeRedisDefault.close();
  await nodeRedisNoTimeout.close();
  ioredis.disconnect();
  await stopAll();
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
