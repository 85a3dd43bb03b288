// Shared bench helpers: closed-loop throughput with N concurrent workers, rounds interleaved
// across contenders in a rotating order (so drift, noise and a predecessor's garbage hit all of them alike), median of rounds, a printed
// table with ratios, and a JSON file in bench/results/ for later comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Contender {
  name: string;
  /** One operation; resolves when done. */
  op: () => Promise<unknown>;
}

export interface ThroughputResult {
  name: string;
  opsPerSec: number;
  rounds: number[];
}

/** Runs `op` from `concurrency` loops for `durationMs`; returns completed ops per second. */
export async function throughput(
  op: () => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<number> {
  let done = 0;
  let stop = false;
  const started = performance.now();
  const worker = async () => {
    while (!stop) {
      await op();
      done++;
    }
  };
  const timer = setTimeout(() => {
    stop = true;
  }, durationMs);
  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(timer);
  return done / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** Measures every contender `rounds` times, interleaved, after one warm-up each. */
export async function compare(
  contenders: Contender[],
  {
    concurrency,
    durationMs = 1500,
    rounds = 3,
    warmupMs = 300,
  }: { concurrency: number; durationMs?: number; rounds?: number; warmupMs?: number },
): Promise<ThroughputResult[]> {
  for (const c of contenders) await throughput(c.op, concurrency, warmupMs);
  const samples = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate who goes first each round: whoever follows a contender inherits its garbage and
    // socket backlog, so a fixed order would bias one contender.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      samples.get(c.name)!.push(await throughput(c.op, concurrency, durationMs));
    }
  }
  return contenders.map((c) => {
    const values = samples.get(c.name)!;
    return { name: c.name, opsPerSec: median(values), rounds: values };
  });
}

export interface Row {
  scenario: string;
  contender: string;
  value: number;
  unit: string;
  /** value / baseline value, when the scenario has a baseline. */
  ratio?: number;
  baseline?: string;
}

export function rowsWithRatios(
  scenario: string,
  results: ThroughputResult[],
  baseline: string,
  unit = 'ops/s',
): Row[] {
  const base = results.find((r) => r.name === baseline)?.opsPerSec;
  return results.map((r) => ({
    scenario,
    contender: r.name,
    value: Math.round(r.opsPerSec),
    unit,
    ...(base ? { ratio: Number((r.opsPerSec / base).toFixed(3)), baseline } : {}),
  }));
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const header = ['scenario', 'contender', 'value', 'ratio'];
  const lines = rows.map((r) => [
    r.scenario,
    r.contender,
    `${r.value.toLocaleString('en-US')} ${r.unit}`,
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x vs ${r.baseline}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

/** Writes the rows with machine facts to bench/results/<name>-<time>.json and returns the path. */
export function writeResults(name: string, rows: Row[], extra: Record<string, unknown> = {}): string {
  const dir = path.join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    loadavg: os.loadavg(),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ name, at: new Date().toISOString(), machine, rows, ...extra }, null, 2)}\n`,
  );
  return file;
}

/**
 * A target ratio measured apart: `ours` and `base` alone, back to back in alternating order
 * (ABBA), `pairs` times; the median of the per-pair throughput ratios. Other processes on a
 * 2-core machine swing throughput 2x within seconds, so a ratio of two medians taken seconds
 * apart is mostly noise; a pair run within one second shares the machine's state.
 */
export async function pairedRatio(
  ours: () => Promise<unknown>,
  base: () => Promise<unknown>,
  { concurrency, pairs = 12, pairMs = 500 }: { concurrency: number; pairs?: number; pairMs?: number },
): Promise<{ median: number; ratios: number[] }> {
  await throughput(ours, concurrency, pairMs);
  await throughput(base, concurrency, pairMs);
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      a = await throughput(ours, concurrency, pairMs);
      b = await throughput(base, concurrency, pairMs);
    } else {
      b = await throughput(base, concurrency, pairMs);
      a = await throughput(ours, concurrency, pairMs);
    }
    ratios.push(Number((a / b).toFixed(3)));
  }
  return { median: median(ratios), ratios };
}
