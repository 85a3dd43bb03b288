// @voelgoed/lock against `redlock` 5.0.0-beta.2 (on ioredis 6: it does not run on node-redis)
// on the same redis-server group, one process run:
//   (a) uncontended: 50 distinct resources, concurrency 50: acquire+release pairs/s, p50/p99;
//   (b) contended: 20 workers on one resource, each pausing 1 ms after its release: pairs/s and
//       hand-off latency (a release finishing → another, already waiting worker holding it);
// for N = 1 and N = 5 masters. redlock runs with its default retry settings (retryDelay 200 ms,
// jitter 100 ms, retryCount 10); ours with its defaults (retryDelayMs 100, jitterMs 50, pub/sub
// hand-off). Prints ratios and writes JSON to bench/results/.
import { createRequire } from 'node:module';
import { createRedisLock } from '@voelgoed/lock';
import { startRedisGroup, stopAll } from '@voelgoed/testkit';
import { Redis as IORedis } from 'ioredis';
import { printTable, type Row, writeResults } from './harness.ts';

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

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 2000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const ttlMs = 5000;

interface Contender {
  name: string;
  /** Takes the lock on `resource`; resolves with its release. */
  acquire(resource: string): Promise<() => Promise<unknown>>;
}

interface Sample {
  pairsPerSec: number;
  acquireMs: number[];
  handoffMs: number[];
  failures: number;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** `workers` loops for `ms`; worker i locks resourceOf(i). Failed acquisitions are counted, not paired. */
async function run(
  contender: Contender,
  workers: number,
  resourceOf: (i: number) => string,
  ms: number,
  thinkMs = 0,
): Promise<Sample> {
  let pairs = 0;
  let failures = 0;
  let stop = false;
  const acquireMs: number[] = [];
  const handoffMs: number[] = [];
  let releasedAt = 0; // when the latest release finished (for the one-resource hand-off)
  let releasedBy = -1; // which worker released last
  const started = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, ms);
  const loop = async (i: number) => {
    while (!stop) {
      const t0 = performance.now();
      let release: () => Promise<unknown>;
      try {
        release = await contender.acquire(resourceOf(i));
      } catch {
        failures++;
        continue;
      }
      const t1 = performance.now();
      acquireMs.push(t1 - t0);
      // A hand-off: another worker, already waiting when the release finished, got the lock.
      if (releasedAt > t0 && releasedBy !== i) handoffMs.push(Math.max(0, t1 - releasedAt));
      await release();
      releasedAt = performance.now();
      releasedBy = i;
      pairs++;
      // Contended: give the others a turn instead of re-taking the lock at once.
      if (thinkMs > 0) await new Promise((r) => setTimeout(r, thinkMs));
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, i) => loop(i)));
  clearTimeout(timer);
  return { pairsPerSec: pairs / ((performance.now() - started) / 1000), acquireMs, handoffMs, failures };
}

async function main() {
  const group = await startRedisGroup(5);
  const rows: Row[] = [];
  const summary: Record<string, unknown>[] = [];
  for (const n of [1, 5]) {
    const urls = group.urls.slice(0, n);
    const ours = createRedisLock({ urls });
    const ioClients = group.servers.slice(0, n).map((s) => new IORedis({ port: s.port, host: s.host }));
    const peer = new Redlock(ioClients); // its defaults: retryCount 10, retryDelay 200, retryJitter 100
    const contenders: Contender[] = [
      {
        name: '@voelgoed/lock',
        acquire: async (r) => {
          const lock = await ours.acquire(r, ttlMs, { retries: Number.POSITIVE_INFINITY });
          return () => lock.release();
        },
      },
      {
        name: 'redlock 5.0.0-beta.2 (ioredis)',
        acquire: async (r) => {
          const lock = await peer.acquire([r], ttlMs);
          return () => lock.release();
        },
      },
    ];
    const scenarios = [
      {
        name: `uncontended N=${n} (50 resources, c=50)`,
        workers: 50,
        resourceOf: (i: number) => `bench:u:${i}`,
      },
      {
        name: `contended N=${n} (20 workers, 1 resource)`,
        workers: 20,
        resourceOf: () => 'bench:c',
        thinkMs: 1,
      },
    ];
    for (const scenario of scenarios) {
      for (const c of contenders) await run(c, scenario.workers, scenario.resourceOf, 300, scenario.thinkMs); // warm-up
      const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const c of contenders) {
          samples
            .get(c.name)!
            .push(await run(c, scenario.workers, scenario.resourceOf, durationMs, scenario.thinkMs));
        }
      }
      const stats = contenders.map((c) => {
        const ss = samples.get(c.name)!;
        const rates = ss.map((x) => x.pairsPerSec).sort((a, b) => a - b);
        const acq = ss.flatMap((x) => x.acquireMs);
        const hand = ss.flatMap((x) => x.handoffMs);
        return {
          name: c.name,
          pairsPerSec: rates[Math.floor(rates.length / 2)]!,
          acquireP50: pct(acq, 50),
          acquireP99: pct(acq, 99),
          handoffP50: pct(hand, 50),
          handoffP99: pct(hand, 99),
          failures: ss.reduce((a, x) => a + x.failures, 0),
        };
      });
      const [mine, theirs] = stats as [(typeof stats)[0], (typeof stats)[0]];
      const contended = scenario.workers === 20;
      for (const st of stats) {
        const base = st === theirs ? undefined : theirs;
        rows.push({
          scenario: scenario.name,
          contender: st.name,
          value: Math.round(st.pairsPerSec),
          unit: 'pairs/s',
          ...(base
            ? { ratio: Number((st.pairsPerSec / base.pairsPerSec).toFixed(3)), baseline: base.name }
            : {}),
        });
        const latency = contended
          ? ['hand-off', st.handoffP50, st.handoffP99]
          : ['acquire', st.acquireP50, st.acquireP99];
        rows.push({
          scenario: `${scenario.name} ${latency[0]} p50`,
          contender: st.name,
          value: Number((latency[1] as number).toFixed(2)),
          unit: 'ms',
          ...(base
            ? {
                ratio: Number(
                  ((contended ? base.handoffP50 : base.acquireP50) / (latency[1] as number)).toFixed(2),
                ),
                baseline: `${base.name} (lower is better: ratio = theirs/ours)`,
              }
            : {}),
        });
        rows.push({
          scenario: `${scenario.name} ${latency[0]} p99`,
          contender: st.name,
          value: Number((latency[2] as number).toFixed(2)),
          unit: 'ms',
        });
      }
      summary.push({ scenario: scenario.name, stats });
      console.log(
        `${scenario.name}: ours ${Math.round(mine.pairsPerSec)} pairs/s vs redlock ${Math.round(theirs.pairsPerSec)} (${(mine.pairsPerSec / theirs.pairsPerSec).toFixed(2)}x); ` +
          `failures ours ${mine.failures}, redlock ${theirs.failures}`,
      );
    }
    await ours.close();
    await peer.quit().catch(() => {});
    for (const c of ioClients) c.disconnect();
  }
  printTable('Lock acquire+release: @voelgoed/lock vs redlock 5.0.0-beta.2 on ioredis (same servers)', rows);
  console.log(`\nresults: ${writeResults('lock', rows, { summary })}`);
  await stopAll();
}

await main();
