import path from 'node:path';
import { runNodeChild } from '@voelgoed/testkit';

export interface WorkerConfig {
  urls: string[];
  counterUrl: string;
  resource: string;
  workers: number;
  sections: number;
  clients: number;
  ttlMs: number;
  nodeTimeoutMs?: number;
}

export interface WorkerReport {
  intervals: [string, string, number][];
  overlaps: number;
  staleTokens: number;
  expiredOnReturn: number;
  /** Sections that ended after their lock's validity (the holder stalled past its TTL). */
  outlivedLock: number;
  /** Longest event-loop delay in the worker process (diagnostic). */
  maxStallMs: number;
  /** Longest acquire call, and the least validity a returned lock had left (diagnostics). */
  maxAcquireMs: number;
  minRemainingMs: number;
  errors: number;
  errorCodes: string[];
}

/**
 * Runs fixtures/critical-sections.ts in a child process (on this package's sources) and resolves
 * with its report. The test kit kills it on `stopAll()` (afterAll) or when it outlives the tests'
 * 180 s limit.
 */
export function runWorkerProcess(config: WorkerConfig): Promise<WorkerReport> {
  return runNodeChild<WorkerReport>(path.join(__dirname, 'fixtures', 'critical-sections.ts'), {
    config,
    name: 'lock worker process',
    timeoutMs: 180_000,
  });
}

/** One line of diagnostics: how starved the worker processes were. Not asserted. */
export function diagnostics(reports: WorkerReport[]): string {
  const max = (f: (r: WorkerReport) => number) => Math.max(...reports.map(f));
  const min = (f: (r: WorkerReport) => number) => Math.min(...reports.map(f));
  return `workers: longest event-loop stall ${max((r) => r.maxStallMs).toFixed(0)} ms, longest acquire ${max((r) => r.maxAcquireMs).toFixed(0)} ms, least validity left on return ${min((r) => r.minRemainingMs).toFixed(0)} ms`;
}

/** Merges reports; counts interval-log overlaps and token order violations across all of them. */
export function analyse(reports: WorkerReport[]) {
  const intervals = reports
    .flatMap((r) => r.intervals)
    .map(([s, e, t]) => ({ start: BigInt(s), end: BigInt(e), token: t }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let logOverlaps = 0;
  let tokenInversions = 0;
  for (let i = 1; i < intervals.length; i++) {
    if (intervals[i]!.start < intervals[i - 1]!.end) logOverlaps++;
    if (intervals[i]!.token <= intervals[i - 1]!.token) tokenInversions++;
  }
  const sum = (f: (r: WorkerReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  return {
    sections: intervals.length,
    logOverlaps,
    tokenInversions,
    overlaps: sum((r) => r.overlaps),
    staleTokens: sum((r) => r.staleTokens),
    expiredOnReturn: sum((r) => r.expiredOnReturn),
    outlivedLock: sum((r) => r.outlivedLock),
    errors: sum((r) => r.errors),
  };
}
