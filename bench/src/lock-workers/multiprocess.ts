// Multi-process contention (issue 15): W worker processes (mp-worker.ts), each with its own lock
// manager over the same masters, all contending for one resource; sections hold the lock for a
// seeded random 0–50 ms. Contenders one after the other on the same servers: @voelgoed/lock
// (defaults, retries Infinity), the same with `fairLine: false`, and redlock 5 on ioredis
// (retryCount -1 = unlimited, its default retryDelay 200 / retryJitter 100). The resource's keys
// are deleted between runs. Each run: warm-up (discarded), the measured window, and a cool-down
// under the same load (so that acquires started late in the window finish their wait under it).
import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createRedisLock } from '@voelgoed/lock';
import { Redis as IORedis } from 'ioredis';
import type { Row } from '../harness.ts';
import { analyse, percentile, type RunFigures, type Wait } from './mp-analysis.ts';
import {
  type AcquireRecord,
  clockMs,
  type FailureRecord,
  type WorkerConfig,
  type WorkerKind,
  type WorkerMessage,
} from './mp-protocol.ts';

export interface MultiprocessOptions {
  urls: string[];
  servers: { host: string; port: number }[];
  workerCounts: number[];
  seconds: number;
  warmupSeconds: number;
  cooldownSeconds: number;
}

const TTL_MS = 2000;
const HOLD_MAX_MS = 50;
const RESOURCE_PREFIX = 'bench:mp';
const CONTENDERS: { kind: WorkerKind; name: string }[] = [
  { kind: 'ours', name: '@voelgoed/lock' },
  { kind: 'ours-unfair', name: '@voelgoed/lock {fairLine:false}' },
  { kind: 'redlock', name: 'redlock 5.0.0-beta.2 (ioredis)' },
];
const workerPath = path.join(import.meta.dirname, 'mp-worker.ts');

/** Deletes every key of this scenario (lock, fencing, waiter and line keys of any library). */
async function flush(clients: IORedis[]): Promise<void> {
  await Promise.all(
    clients.map(async (c) => {
      let cursor = '0';
      do {
        const [next, keys] = await c.scan(cursor, 'MATCH', `*${RESOURCE_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await c.del(...keys);
      } while (cursor !== '0');
    }),
  );
}

/**
 * One round trip to the masters: the median time of a PING sent to all of them in parallel
 * until all answered (what one quorum call costs without a script). Also, for context, the
 * median uncontended acquire+release of ours (two round trips plus scripts).
 */
async function roundTrips(clients: IORedis[], urls: string[]): Promise<{ ping: number; pair: number }> {
  const pings: number[] = [];
  for (let i = 0; i < 20; i++) await Promise.all(clients.map((c) => c.ping()));
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await Promise.all(clients.map((c) => c.ping()));
    pings.push(performance.now() - t0);
  }
  const locks = createRedisLock({ urls });
  const pairs: number[] = [];
  try {
    for (let i = 0; i < 220; i++) {
      const t0 = performance.now();
      const lock = await locks.acquire(`${RESOURCE_PREFIX}:rt`, TTL_MS, { retries: 0 });
      await lock.release();
      if (i >= 20) pairs.push(performance.now() - t0);
    }
  } finally {
    await locks.close();
  }
  const sort = (xs: number[]) => xs.sort((a, b) => a - b);
  return { ping: percentile(sort(pings), 50), pair: percentile(sort(pairs), 50) };
}

interface RunResult {
  figures: RunFigures;
  roundTrip: { ping: number; pair: number };
  loadavg: number[];
}

async function runOnce(
  kind: WorkerKind,
  workers: number,
  options: MultiprocessOptions,
  clients: IORedis[],
): Promise<RunResult> {
  await flush(clients);
  const roundTrip = await roundTrips(clients, options.urls);
  await flush(clients);
  const resource = `${RESOURCE_PREFIX}:${kind}:${workers}`;
  const children: ChildProcess[] = [];
  const records: AcquireRecord[] = [];
  const failures: FailureRecord[] = [];
  let releaseFailures = 0;
  try {
    const ready: Promise<void>[] = [];
    const done: Promise<void>[] = [];
    for (let index = 0; index < workers; index++) {
      const config: WorkerConfig = {
        kind,
        index,
        urls: options.urls,
        servers: options.servers,
        resource,
        ttlMs: TTL_MS,
        holdMaxMs: HOLD_MAX_MS,
        // The same seed per worker index for every contender: the same hold times are drawn.
        seed: 1000 + index,
      };
      const child = fork(workerPath, [JSON.stringify(config)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      const failed = new Promise<never>((_, reject) => {
        child.once('exit', (code) => reject(new Error(`worker ${index} exited early (code ${code})`)));
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'error') reject(new Error(`worker ${index}: ${m.message}`));
        });
      });
      failed.catch(() => {});
      ready.push(
        Promise.race([
          new Promise<void>((resolve) =>
            child.on('message', (m: WorkerMessage) => m.type === 'ready' && resolve()),
          ),
          failed,
        ]),
      );
      done.push(
        Promise.race([
          new Promise<void>((resolve) =>
            child.on('message', (m: WorkerMessage) => {
              if (m.type !== 'done') return;
              records.push(...m.records);
              failures.push(...m.failures);
              releaseFailures += m.releaseFailures;
              resolve();
            }),
          ),
          failed,
        ]),
      );
    }
    await withTimeout(Promise.all(ready), 120_000, 'workers did not get ready');
    const startAt = clockMs() + 200;
    const windowStart = startAt + options.warmupSeconds * 1000;
    const windowEnd = windowStart + options.seconds * 1000;
    const stopAt = windowEnd + options.cooldownSeconds * 1000;
    for (const child of children) child.send({ type: 'go', startAt, stopAt });
    await withTimeout(Promise.all(done), stopAt - clockMs() + 60_000, 'workers did not report');
    const figures = analyse({
      records,
      failures,
      releaseFailures,
      windowStart,
      windowEnd,
      stopAt,
      roundTripMs: roundTrip.ping,
    });
    return { figures, roundTrip, loadavg: os.loadavg() };
  } finally {
    await Promise.all(children.map((c) => exited(c, 5000)));
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`[bench:lock] ${what} within ${Math.round(ms)} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for a worker to exit; kills it (this one child, by its handle) if it does not. */
async function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const waitText = (w: Wait) => `${w.lowerBound ? '≥' : ''}${fixed(w.value)}`;
const waitUnit = (w: Wait) => (w.lowerBound ? 'ms (lower bound: waits still open at the end)' : 'ms');

/** theirs / ours of two waits, and how far it can be trusted when either is a lower bound. */
function waitRatio(theirs: Wait, ours: Wait): { value: number; note: string } {
  const value = fixed(theirs.value / ours.value, 2);
  if (ours.lowerBound) return { value, note: 'x (unknown: ours is a lower bound)' };
  return { value, note: theirs.lowerBound ? 'x (at least: theirs is a lower bound)' : 'x' };
}

export async function runMultiprocess(
  options: MultiprocessOptions,
): Promise<{ rows: Row[]; summary: Record<string, unknown>[]; headline: string[] }> {
  const clients = options.servers.map((s) => new IORedis({ host: s.host, port: s.port }));
  const rows: Row[] = [];
  const summary: Record<string, unknown>[] = [];
  const headline: string[] = [];
  try {
    for (const workers of options.workerCounts) {
      const scenario = `multi-process W=${workers} (N=${options.urls.length}, 1 resource, 0–${HOLD_MAX_MS} ms sections, ${options.seconds} s)`;
      const results = new Map<WorkerKind, RunResult>();
      for (const c of CONTENDERS) {
        console.log(`${scenario}: ${c.name} …`);
        const result = await runOnce(c.kind, workers, options, clients);
        results.set(c.kind, result);
        const f = result.figures;
        console.log(
          `  ${fixed(f.sectionsPerSec)} sections/s = ${fixed(f.percentOfLimit)}% of ${fixed(f.serialLimit)}; wait p50/p99/max ${waitText(f.waitP50)}/${waitText(f.waitP99)}/${waitText(f.waitMax)} ms; >5 s ${fixed(f.over5sPercent, 2)}%; >2x line ${fixed(f.unfairPercent, 2)}% (worst ${fixed(f.worstLineRatio, 2)}x); overlaps ${f.overlaps}; failures ${f.failures}; load ${result.loadavg.map((l) => l.toFixed(2)).join(' ')}`,
        );
        summary.push({ scenario, contender: c.name, ...result });
      }
      const redlock = results.get('redlock')!.figures;
      for (const c of CONTENDERS) {
        const { figures: f, roundTrip } = results.get(c.kind)!;
        const vsRedlock =
          c.kind === 'redlock'
            ? {}
            : { ratio: fixed(f.sectionsPerSec / redlock.sectionsPerSec, 2), baseline: CONTENDERS[2]!.name };
        const row = (what: string, value: number, unit: string, extra: Partial<Row> = {}) =>
          rows.push({ scenario: `${scenario} ${what}`.trim(), contender: c.name, value, unit, ...extra });
        row('', fixed(f.sectionsPerSec), 'sections/s', vsRedlock);
        row(
          'serial limit 1/(mean hold + PING round trip)',
          fixed(f.serialLimit),
          `sections/s (hold ${fixed(f.meanHoldMs, 2)} ms + RT ${fixed(roundTrip.ping, 2)} ms; uncontended pair ${fixed(roundTrip.pair, 2)} ms)`,
        );
        row('% of serial limit', fixed(f.percentOfLimit), '%');
        row('wait p50', fixed(f.waitP50.value), waitUnit(f.waitP50));
        const p99 = waitRatio(redlock.waitP99, f.waitP99);
        row(
          'wait p99',
          fixed(f.waitP99.value),
          waitUnit(f.waitP99),
          c.kind === 'redlock'
            ? {}
            : {
                ratio: p99.value,
                baseline: `${CONTENDERS[2]!.name} (theirs/ours${p99.note === 'x' ? '' : `; ${p99.note.slice(3, -1)}`})`,
              },
        );
        row('wait max', fixed(f.waitMax.value), waitUnit(f.waitMax));
        row(
          'acquires waiting > 5 s',
          fixed(f.over5sPercent, 2),
          `% of ${f.acquires} (${f.fromWarmup} started in the warm-up; ${f.censored} still waiting at the end, counted to it)`,
        );
        row(
          'waited > 2x their place in line',
          fixed(f.unfairPercent, 2),
          `% (worst ${fixed(f.worstLineRatio, 2)}x)`,
        );
        row('overlapping holders', f.overlaps, '(must be 0)');
        row('failed acquires / releases', f.failures, `acquires, ${f.releaseFailures} releases`);
      }
      const ours = results.get('ours')!.figures;
      const ratio = waitRatio(redlock.waitP99, ours.waitP99);
      rows.push({
        scenario: `${scenario} wait p99: redlock / ours (target ≥ 5)`,
        contender: CONTENDERS[0]!.name,
        value: ratio.value,
        unit: ratio.note,
      });
      const line = `${scenario}: ours ${fixed(ours.sectionsPerSec)} sections/s (${fixed(ours.percentOfLimit)}% of limit), p99 ${waitText(ours.waitP99)} ms vs redlock ${fixed(redlock.sectionsPerSec)} sections/s, p99 ${waitText(redlock.waitP99)} ms: ratio ${ratio.value}${ratio.note}; >2x line ${fixed(ours.unfairPercent, 2)}% vs ${fixed(redlock.unfairPercent, 2)}%; overlaps ${ours.overlaps}/${results.get('ours-unfair')!.figures.overlaps}/${redlock.overlaps}`;
      headline.push(line);
      console.log(line);
    }
  } finally {
    await flush(clients).catch(() => {});
    for (const c of clients) c.disconnect();
  }
  return { rows, summary, headline };
}
