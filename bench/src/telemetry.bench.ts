// @voelgoed/telemetry: what recording costs, in ns per operation, against prom-client's own
// labelled observe() in the same process run:
//  - a recorded adapter event (createPublisher().publish → diagnostics_channel → our handler →
//    histogram), the path every adapter operation takes when telemetry is on;
//  - the port's bound handle (bind(labels) once, record(v) per call) and labelled record();
//  - prom-client's child (histogram.labels(...) once, observe(v) per call);
//  - what an adapter pays per operation when nobody subscribes (publish with no subscriber);
//  - scrape time of 5,000 and 10,000 series vs prom-client's registry.metrics() on a plain
//    prom-client histogram holding the same series.
// Loops are timed with process.hrtime.bigint(); rounds interleave contenders in a rotating
// order and the median round counts.
import { Channels, createPublisher, type RedisCommandEvent } from '@voelgoed/contracts';
import { createTelemetry, DEFAULT_DURATION_BUCKETS, type Telemetry } from '@voelgoed/telemetry';
import { Histogram, Registry } from 'prom-client';
import { printTable, type Row, rowsWithRatios, type ThroughputResult, writeResults } from './harness.ts';

const ITERATIONS = Number(process.env.BENCH_TELEMETRY_ITERATIONS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const buckets = [...DEFAULT_DURATION_BUCKETS];

// 1024 durations spread over the buckets (seconds), reused by every contender.
const values = Array.from({ length: 1024 }, (_, i) => 0.0002 * 1.012 ** i);
const labels = {
  db_system_name: 'redis',
  db_operation_name: 'GET',
  server_address: '127.0.0.1',
  server_port: '6379',
  outcome: 'ok',
};
const labelNames = Object.keys(labels);
const event: RedisCommandEvent = { command: 'GET', target: '127.0.0.1:6379', durationMs: 0.3, outcome: 'ok' };

interface NsContender {
  name: string;
  /** Runs before each timed round (attach subscribers, etc.). */
  setup?: () => void;
  /** Runs after each timed round. */
  teardown?: () => Promise<void> | void;
  /** One operation; `i` varies the value. */
  op: (i: number) => void;
}

function timeLoop(op: (i: number) => void, n: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i);
  return Number(process.hrtime.bigint() - started) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function measure(contenders: NsContender[]): Promise<ThroughputResult[]> {
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) {
    c.setup?.();
    timeLoop(c.op, Math.min(ITERATIONS, 200_000)); // warm-up
    await c.teardown?.();
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      c.setup?.();
      samples.get(c.name)!.push(timeLoop(c.op, ITERATIONS));
      await c.teardown?.();
    }
  }
  // ThroughputResult's opsPerSec field carries ns/op here; rowsWithRatios then gives cost ratios.
  return contenders.map((c) => ({
    name: c.name,
    opsPerSec: median(samples.get(c.name)!),
    rounds: samples.get(c.name)!,
  }));
}

function nsRows(scenario: string, results: ThroughputResult[], baseline: string): Row[] {
  return rowsWithRatios(scenario, results, baseline, 'ns/op').map((row) => ({
    ...row,
    value: Number((results.find((r) => r.name === row.contender)?.opsPerSec ?? 0).toFixed(1)),
  }));
}

async function main() {
  // prom-client on its own.
  const promRegistry = new Registry();
  const promHistogram = new Histogram({
    name: 'prom_direct',
    help: 'x',
    labelNames,
    buckets,
    registers: [promRegistry],
  });
  const promChild = promHistogram.labels(labels);

  // The Metrics port (no event subscriptions).
  const port = createTelemetry({ events: false });
  const portHistogram = port.histogram('port.duration', { unit: 's', labelNames });
  const bound = portHistogram.bind(labels);

  // Events: a telemetry subscribed while its contender runs.
  const publisher = createPublisher(Channels.redisCommand);
  let subscribed: Telemetry | undefined;
  const sink = { calls: 0 };
  const noop = (_: RedisCommandEvent) => {
    sink.calls++;
  };

  const DIRECT = 'prom-client observe(labels, v)';
  const record: NsContender[] = [
    { name: DIRECT, op: (i) => promHistogram.observe(labels, values[i & 1023]!) },
    { name: 'prom-client labels(...) child observe(v)', op: (i) => promChild.observe(values[i & 1023]!) },
    { name: 'ours bound handle record(v)', op: (i) => bound.record(values[i & 1023]!) },
    { name: 'ours labelled record(v, labels)', op: (i) => portHistogram.record(values[i & 1023]!, labels) },
    {
      name: 'ours adapter event via diagnostics_channel',
      setup: () => {
        subscribed = createTelemetry({ buckets });
      },
      teardown: () => subscribed?.close(),
      op: (i) => {
        event.durationMs = values[i & 1023]! * 1000;
        publisher.publish(event);
      },
    },
  ];

  const unsubscribed: NsContender[] = [
    { name: 'plain function call (baseline)', op: (i) => noop(i & 1 ? event : event) },
    { name: 'publish() with no subscriber', op: () => publisher.publish(event) },
    {
      name: 'publishLazy() with no subscriber',
      op: () => publisher.publishLazy(() => ({ command: 'GET', target: 't', durationMs: 1, outcome: 'ok' })),
    },
  ];

  const rows: Row[] = [];
  rows.push(...nsRows('record one histogram value', await measure(record), DIRECT));
  rows.push(
    ...nsRows(
      'adapter overhead, nobody subscribed',
      await measure(unsubscribed),
      'plain function call (baseline)',
    ),
  );

  // Scrape time: the same series in ours (port histogram, bound handles) and in plain prom-client.
  for (const series of [5_000, 10_000]) {
    const ours = createTelemetry({
      events: false,
      maxLabelValues: Number.POSITIVE_INFINITY,
      maxSeriesPerMetric: Number.POSITIVE_INFINITY,
    });
    const oursH = ours.histogram('scrape.duration', {
      unit: 's',
      labelNames: ['route'],
      buckets: [0.01, 0.1, 1],
    });
    const plainRegistry = new Registry();
    const plainH = new Histogram({
      name: 'scrape_duration_seconds',
      help: 'x',
      labelNames: ['route'],
      buckets: [0.01, 0.1, 1],
      registers: [plainRegistry],
    });
    // 5,000 series = 5,000 label sets (each printed as 3 buckets + +Inf + sum + count lines).
    for (let i = 0; i < series; i++) {
      oursH.bind({ route: `/r/${i}` }).record(0.05);
      plainH.observe({ route: `/r/${i}` }, 0.05);
    }
    const scrapes = 20;
    const timeScrapes = async (scrape: () => Promise<string>) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < scrapes; i++) await scrape();
      return Number(process.hrtime.bigint() - started) / scrapes / 1e6;
    };
    const PLAIN = 'prom-client registry.metrics()';
    const samples = new Map<string, number[]>([
      [PLAIN, []],
      ['ours telemetry.scrape()', []],
    ]);
    await timeScrapes(() => ours.scrape());
    await timeScrapes(() => plainRegistry.metrics());
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [PLAIN, 'ours telemetry.scrape()'] : ['ours telemetry.scrape()', PLAIN];
      for (const name of order) {
        samples
          .get(name)!
          .push(await timeScrapes(name === PLAIN ? () => plainRegistry.metrics() : () => ours.scrape()));
      }
    }
    const results = [...samples].map(([name, xs]) => ({ name, opsPerSec: median(xs), rounds: xs }));
    rows.push(
      ...rowsWithRatios(`scrape ${series.toLocaleString('en-US')} series`, results, PLAIN, 'ms/scrape').map(
        (row) => ({
          ...row,
          value: Number((results.find((r) => r.name === row.contender)?.opsPerSec ?? 0).toFixed(2)),
        }),
      ),
    );
    await ours.close();
  }
  await port.close();

  printTable('@voelgoed/telemetry: cost per recorded value (lower is better; ratio = cost / baseline)', rows);
  const file = writeResults('telemetry', rows, {
    iterations: ITERATIONS,
    rounds: ROUNDS,
    labels: labelNames.length,
    note: 'value is a cost (ns/op or ms/scrape): ratio < 1 means cheaper than the baseline',
  });
  console.log(`\nwrote ${file}`);
}

await main();
