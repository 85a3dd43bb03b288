// @voelgoed/lock against `redlock` 5.0.0-beta.2 (on ioredis 6: it does not run on node-redis)
// and `redlock-universal` 0.8.5 (its Redlock on node-redis 6 clients), on the same redis-server
// group, one process run, for N = 1 and N = 5 masters:
//   (a) uncontended: 50 distinct resources, concurrency 50 (worker i always locks resource i):
//       acquire+release pairs/s, acquire latency p50/p99;
//   (b) contended, one resource, each acquisition's WAIT (calling acquire → holding the lock),
//       p50/p99, and pairs/s, two ways:
//       - waves of 20: 20 callers want the lock at the same moment, each once; the next wave
//         starts when all are done (the headline: every acquisition waits in line);
//       - a closed loop of 20 workers, each pausing 1 ms after its release. Here a releaser can
//         re-take the lock before a polling waiter wakes, and such a re-take counts as a ~0 ms
//         wait: the per-acquisition p50 then rewards a lock that lets one worker run while the
//         others starve (look at p99 and pairs/s next to it).
// Every contender runs with its library defaults: ours retries 10, retryDelayMs 100, jitterMs 50
// (plus pub/sub hand-off); redlock retryCount 10, retryDelay 200, retryJitter 100 (read from its
// dist: `defaultSettings`); redlock-universal retryAttempts 3, retryDelay 200 (DEFAULTS.RETRY_DELAY
// × DISTRIBUTED_RETRY_MULTIPLIER), no jitter. An acquire that gives up is counted as a failure;
// in the wait percentiles "all" ranks a failure as an infinite wait (it never held the lock),
// "ok" uses only the acquisitions that succeeded. Rounds rotate the contenders' order.
// Then (c) multi-process contention (lock-workers/multiprocess.ts): W worker processes (10 and
// 40), each with its own lock manager over the same 5 masters, on one resource, sections of a
// seeded random 0–50 ms, 60 s each after a warm-up: @voelgoed/lock, the same with
// `fairLine: false`, and redlock, one after the other; sections/s against the serial limit,
// wait p50/p99/max, waits over 5 s, line fairness, overlaps. BENCH_ONLY=inprocess or
// multiprocess (comma-separated) runs only those parts; BENCH_LOCK_WORKERS (e.g. "10,40"),
// BENCH_LOCK_MP_SECONDS, BENCH_LOCK_MP_WARMUP_SECONDS, BENCH_LOCK_MP_COOLDOWN_SECONDS.
// Prints ratios and writes JSON to bench/results/.
import { createRequire } from 'node:module';
import os from 'node:os';
import { createRedisLock } from '@voelgoed/lock';
import { startRedisGroup, stopAll } from '@voelgoed/testkit';
import { Redis as IORedis } from 'ioredis';
import { createClient } from 'redis';
import { createRedlock, NodeRedisAdapter, type Lock as UniversalLock } from 'redlock-universal';
import { printTable, type Row, writeResults } from './harness.ts';
import { runMultiprocess } from './lock-workers/multiprocess.ts';

interface PeerLock {
  release(): Promise<unknown>;
}
interface PeerRedlock {
  acquire(resources: string[], duration: number): Promise<PeerLock>;
  quit(): Promise<void>;
}
type PeerRedlockCtor = new (clients: IORedis[], settings?: Record<string, number>) => PeerRedlock;
// redlock 5's package has no types export under NodeNext (TS7016): load its CJS build untyped.
const Redlock = (createRequire(import.meta.url)('redlock') as { default: PeerRedlockCtor }).default;

// Contended scenarios: few long rounds (a redlock wave takes ~0.5 s). Uncontended: many short
// rounds, so that the load other processes put on this shared 2-core machine (it comes in
// bursts) hits every contender alike; the ratio is also given as the median of per-round ratios.
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const shortDurationMs = Number(process.env.BENCH_SHORT_DURATION_MS ?? 700);
const shortRounds = Number(process.env.BENCH_SHORT_ROUNDS ?? 9);
const ttlMs = 5000;

const SECTIONS = ['inprocess', 'multiprocess'] as const;
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

const positive = (name: string, fallback: string, min: number) => {
  const values = (process.env[name] ?? fallback).split(',').map((v) => Number(v.trim()));
  for (const v of values) {
    if (!Number.isFinite(v) || v < min)
      throw new Error(`${name} must be numbers >= ${min}, got ${process.env[name]}`);
  }
  return values;
};
/** Multi-process scenario: worker process counts, measured seconds, discarded seconds around them. */
const mpWorkers = positive('BENCH_LOCK_WORKERS', '10,40', 2).map(Math.round);
const [mpSeconds] = positive('BENCH_LOCK_MP_SECONDS', '60', 1) as [number];
const [mpWarmupSeconds] = positive('BENCH_LOCK_MP_WARMUP_SECONDS', '5', 0) as [number];
const [mpCooldownSeconds] = positive('BENCH_LOCK_MP_COOLDOWN_SECONDS', '10', 0) as [number];

interface Contender {
  name: string;
  /** Takes the lock on `resource` with the library's default retry settings; resolves with its release. */
  acquire(resource: string): Promise<() => Promise<unknown>>;
  close(): Promise<void>;
}

interface Sample {
  pairsPerSec: number;
  /** Wait (acquire called → lock held) of each successful acquisition. */
  waitMs: number[];
  /** Acquisitions that gave up (retries spent). */
  failures: number;
  calls: number;
}

/** Percentile; `extraInfinite` failures rank above every finite wait. */
const pct = (xs: number[], p: number, extraInfinite = 0) => {
  const total = xs.length + extraInfinite;
  if (total === 0) return Number.NaN;
  const i = Math.min(total - 1, Math.floor((p / 100) * total));
  if (i >= xs.length) return Number.POSITIVE_INFINITY;
  return [...xs].sort((a, b) => a - b)[i]!;
};

/** `workers` loops for `ms`; worker i locks resourceOf(i). */
async function run(
  contender: Contender,
  workers: number,
  resourceOf: (i: number) => string,
  ms: number,
  thinkMs: number,
): Promise<Sample> {
  let pairs = 0;
  let failures = 0;
  let calls = 0;
  let stop = false;
  const waitMs: number[] = [];
  const started = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, ms);
  const loop = async (i: number) => {
    while (!stop) {
      const t0 = performance.now();
      calls++;
      let release: () => Promise<unknown>;
      try {
        release = await contender.acquire(resourceOf(i));
      } catch {
        failures++;
        continue;
      }
      waitMs.push(performance.now() - t0);
      await release();
      pairs++;
      if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs));
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => loop(i)));
  clearTimeout(timer);
  return { pairsPerSec: pairs / ((performance.now() - started) / 1000), waitMs, failures, calls };
}

/**
 * Waves for `ms`: in each wave `workers` callers want `resource` at the same moment, each once
 * (acquire, release at once); the next wave starts when all are done. Nobody can re-take the
 * lock it just released, so every acquisition's wait is a real wait in line.
 */
async function runWaves(
  contender: Contender,
  workers: number,
  resource: string,
  ms: number,
): Promise<Sample> {
  let pairs = 0;
  let failures = 0;
  let calls = 0;
  const waitMs: number[] = [];
  const started = performance.now();
  const one = async () => {
    const t0 = performance.now();
    calls++;
    let release: () => Promise<unknown>;
    try {
      release = await contender.acquire(resource);
    } catch {
      failures++;
      return;
    }
    waitMs.push(performance.now() - t0);
    await release();
    pairs++;
  };
  while (performance.now() - started < ms) await Promise.all(Array.from({ length: workers }, one));
  return { pairsPerSec: pairs / ((performance.now() - started) / 1000), waitMs, failures, calls };
}

async function contendersFor(urls: string[], ports: { host: string; port: number }[]): Promise<Contender[]> {
  const ours = createRedisLock({ urls });
  const ioClients = ports.map((s) => new IORedis({ port: s.port, host: s.host }));
  const peer = new Redlock(ioClients); // its defaults: retryCount 10, retryDelay 200, retryJitter 100
  const nodeClients = await Promise.all(urls.map((url) => createClient({ url }).connect()));
  const adapters = nodeClients.map((c) => new NodeRedisAdapter(c));
  // redlock-universal binds a lock object to one key: one per resource, made once.
  const universal = new Map<string, UniversalLock>();
  const universalFor = (resource: string) => {
    let lock = universal.get(resource);
    if (lock === undefined) {
      lock = createRedlock({ adapters, key: resource, ttl: ttlMs }); // defaults: 3 retries, 200 ms
      universal.set(resource, lock);
    }
    return lock;
  };
  return [
    {
      name: '@voelgoed/lock',
      acquire: async (r) => {
        const lock = await ours.acquire(r, ttlMs);
        return () => lock.release();
      },
      close: () => ours.close(),
    },
    {
      name: 'redlock 5.0.0-beta.2 (ioredis)',
      acquire: async (r) => {
        const lock = await peer.acquire([r], ttlMs);
        return () => lock.release();
      },
      close: async () => {
        await peer.quit().catch(() => {});
        for (const c of ioClients) c.disconnect();
      },
    },
    {
      name: 'redlock-universal 0.8.5 (node-redis)',
      acquire: async (r) => {
        const lock = universalFor(r);
        const handle = await lock.acquire();
        return () => lock.release(handle);
      },
      close: async () => {
        await Promise.all(nodeClients.map((c) => c.quit().catch(() => {})));
      },
    },
  ];
}

interface Stats {
  name: string;
  pairsPerSec: number;
  rounds: number[];
  /** Median over rounds of (ours in that round / this contender in that round). */
  pairedRatio: number;
  calls: number;
  failures: number;
  okP50: number;
  okP99: number;
  allP50: number;
  allP99: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(2)) : x);
const ratio = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(2)) : x);

async function main() {
  const loadBefore = os.loadavg();
  console.log(`load average at start: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  const group = await startRedisGroup(5);
  const rows: Row[] = [];
  const summary: Record<string, unknown>[] = [];
  const headline: string[] = [];
  for (const n of runs('inprocess') ? [1, 5] : []) {
    const contenders = await contendersFor(
      group.urls.slice(0, n),
      group.servers.slice(0, n).map((s) => ({ host: s.host, port: s.port })),
    );
    const scenarios = [
      {
        name: `uncontended N=${n} (50 resources, c=50)`,
        contended: false,
        workers: 50,
        resourceOf: (i: number) => `bench:u:${i}`,
        thinkMs: 0,
      },
      {
        name: `contended N=${n} (waves of 20 on 1 resource)`,
        contended: true,
        waves: true,
        workers: 20,
        resourceOf: () => 'bench:w',
        thinkMs: 0,
      },
      {
        name: `contended N=${n} (20-worker loop, 1 resource)`,
        contended: true,
        workers: 20,
        resourceOf: () => 'bench:c',
        thinkMs: 1,
      },
    ];
    for (const scenario of scenarios) {
      const go = (c: Contender, time: number) =>
        'waves' in scenario
          ? runWaves(c, scenario.workers, scenario.resourceOf(0), time)
          : run(c, scenario.workers, scenario.resourceOf, time, scenario.thinkMs);
      for (const c of contenders) await go(c, 300); // warm-up
      const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
      const roundCount = scenario.contended ? rounds : shortRounds;
      const roundMs = scenario.contended ? durationMs : shortDurationMs;
      for (let r = 0; r < roundCount; r++) {
        for (let k = 0; k < contenders.length; k++) {
          const c = contenders[(r + k) % contenders.length]!;
          samples.get(c.name)!.push(await go(c, roundMs));
        }
      }
      const stats: Stats[] = contenders.map((c) => {
        const ss = samples.get(c.name)!;
        const rates = ss.map((x) => x.pairsPerSec).sort((a, b) => a - b);
        const waits = ss.flatMap((x) => x.waitMs);
        const failures = ss.reduce((a, x) => a + x.failures, 0);
        return {
          name: c.name,
          pairsPerSec: rates[Math.floor(rates.length / 2)]!,
          rounds: ss.map((x) => Math.round(x.pairsPerSec)),
          pairedRatio: median(
            ss.map((x, r) => samples.get(contenders[0]!.name)![r]!.pairsPerSec / x.pairsPerSec),
          ),
          calls: ss.reduce((a, x) => a + x.calls, 0),
          failures,
          okP50: pct(waits, 50),
          okP99: pct(waits, 99),
          allP50: pct(waits, 50, failures),
          allP99: pct(waits, 99, failures),
        };
      });
      const mine = stats[0]!;
      const label = scenario.contended ? 'wait' : 'acquire';
      for (const st of stats) {
        const base = st === mine ? undefined : st;
        const vs = base ? { baseline: base.name } : {};
        rows.push({
          scenario: scenario.name,
          contender: st.name,
          value: Math.round(st.pairsPerSec),
          unit: 'pairs/s',
          ...(base ? { ratio: ratio(mine.pairsPerSec / base.pairsPerSec), ...vs } : {}),
        });
        if (base) {
          rows.push({
            scenario: `${scenario.name} pairs/s, median of per-round ratios`,
            contender: st.name,
            value: ratio(st.pairedRatio),
            unit: 'x',
            ratio: ratio(st.pairedRatio),
            baseline: base.name,
          });
        }
        rows.push({
          scenario: `${scenario.name} failed acquires`,
          contender: st.name,
          value: st.failures,
          unit: `of ${st.calls}`,
        });
        for (const [p, ok, all] of [
          ['p50', st.okP50, st.allP50],
          ['p99', st.okP99, st.allP99],
        ] as const) {
          const mineOk = p === 'p50' ? mine.okP50 : mine.okP99;
          const mineAll = p === 'p50' ? mine.allP50 : mine.allP99;
          rows.push({
            scenario: `${scenario.name} ${label} ${p} (ok)`,
            contender: st.name,
            value: ms(ok),
            unit: 'ms',
            ...(base ? { ratio: ratio(ok / mineOk), baseline: `${base.name} (theirs/ours)` } : {}),
          });
          if (scenario.contended) {
            rows.push({
              scenario: `${scenario.name} ${label} ${p} (all, failure = ∞)`,
              contender: st.name,
              value: ms(all),
              unit: 'ms',
              ...(base ? { ratio: ratio(all / mineAll), baseline: `${base.name} (theirs/ours)` } : {}),
            });
          }
        }
      }
      summary.push({ scenario: scenario.name, stats });
      for (const st of stats.slice(1)) {
        const line = scenario.contended
          ? `${scenario.name} vs ${st.name}: wait p50 ${ms(st.okP50)}/${ms(mine.okP50)} ms = ${ratio(st.okP50 / mine.okP50)}x lower (all-calls p50 ${ratio(st.allP50 / mine.allP50)}x), p99 ${ms(st.okP99)}/${ms(mine.okP99)} ms; pairs/s ${Math.round(mine.pairsPerSec)} vs ${Math.round(st.pairsPerSec)}; failures ours ${mine.failures}/${mine.calls}, theirs ${st.failures}/${st.calls}`
          : `${scenario.name} vs ${st.name}: ${Math.round(mine.pairsPerSec)} vs ${Math.round(st.pairsPerSec)} pairs/s = ${ratio(mine.pairsPerSec / st.pairsPerSec)}x (median of per-round ratios ${ratio(st.pairedRatio)}x); p50 ${ms(mine.okP50)} vs ${ms(st.okP50)} ms, p99 ${ms(mine.okP99)} vs ${ms(st.okP99)} ms; failures ours ${mine.failures}, theirs ${st.failures}`;
        headline.push(line);
        console.log(line);
      }
    }
    for (const c of contenders) await c.close();
  }
  const mp = runs('multiprocess')
    ? await runMultiprocess({
        urls: group.urls,
        servers: group.servers.map((s) => ({ host: s.host, port: s.port })),
        workerCounts: mpWorkers,
        seconds: mpSeconds,
        warmupSeconds: mpWarmupSeconds,
        cooldownSeconds: mpCooldownSeconds,
      })
    : undefined;
  const loadAfter = os.loadavg();
  if (rows.length > 0) {
    printTable(
      'Lock acquire+release: @voelgoed/lock vs redlock (ioredis) and redlock-universal (node-redis), same servers',
      rows,
    );
  }
  if (mp) {
    printTable(
      'Lock, multi-process contention: W processes on one resource, @voelgoed/lock vs redlock (ioredis), same 5 masters',
      mp.rows,
    );
    rows.push(...mp.rows);
    summary.push(...mp.summary);
    headline.push(...mp.headline);
  }
  console.log('\nSummary:');
  for (const line of headline) console.log(`  ${line}`);
  console.log(
    `load average: start ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, end ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log(
    `\nresults: ${writeResults('lock', rows, {
      summary,
      loadBefore,
      loadAfter,
      durationMs,
      rounds,
      shortDurationMs,
      shortRounds,
      sections: only.length === 0 ? SECTIONS : only,
      ...(mp
        ? {
            multiprocess: {
              workers: mpWorkers,
              seconds: mpSeconds,
              warmupSeconds: mpWarmupSeconds,
              cooldownSeconds: mpCooldownSeconds,
            },
          }
        : {}),
    })}`,
  );
  await stopAll();
}

// Servers are stopped also when a run fails (e.g. a worker process dies).
await main().finally(() => stopAll());
