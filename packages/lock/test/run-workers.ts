import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

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

const fixtures = path.join(__dirname, 'fixtures');
const running = new Set<ChildProcess>();

/** Kills worker processes still running (for afterAll after a failed test). */
export function killWorkers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Runs fixtures/critical-sections.ts in a child process (on this package's sources). */
export function runWorkerProcess(config: WorkerConfig): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--experimental-transform-types',
        '--disable-warning=ExperimentalWarning',
        '--import',
        path.join(fixtures, 'ts-hooks.mjs'),
        path.join(fixtures, 'critical-sections.ts'),
        JSON.stringify(config),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      running.delete(child);
      if (code !== 0) return reject(new Error(`worker process exited with ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as WorkerReport);
      } catch {
        reject(new Error(`worker process printed no report: ${out.slice(-500)} ${err.slice(-2000)}`));
      }
    });
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
