// Figures of one multi-process contention run, from the merged logs of its workers (all stamps
// on one clock, CLOCK_MONOTONIC): throughput and the serial limit, waits, the share of long
// waits, line fairness and overlaps. Only the steady window [windowStart, windowEnd] counts
// (the warm-up before it and the cool-down after it are discarded); the cool-down keeps full
// contention so that acquires started late in the window finish their wait under the same load.
import type { AcquireRecord, FailureRecord } from './mp-protocol.ts';

export interface RunLogs {
  records: AcquireRecord[];
  failures: FailureRecord[];
  releaseFailures: number;
  windowStart: number;
  windowEnd: number;
  /** When every worker stopped: an acquire still waiting then is censored at this time. */
  stopAt: number;
  /** Measured round trip to the masters (ms), for the serial limit. */
  roundTripMs: number;
}

export interface Wait {
  value: number;
  lowerBound: boolean;
}

export interface RunFigures {
  sections: number;
  sectionsPerSec: number;
  /** Mean time a section held the lock (granted → release called), ms. */
  meanHoldMs: number;
  /** Window / sections: mean hold plus hand-off, ms. */
  meanSectionMs: number;
  /** 1000 / (meanHoldMs + roundTripMs), sections/s. */
  serialLimit: number;
  percentOfLimit: number;
  /** Acquires waiting at some time in the window (started before its end, not granted before its start). */
  acquires: number;
  /** Of those, started during the warm-up. */
  fromWarmup: number;
  /** Of those, still waiting at stopAt (their wait is a lower bound: stopAt − start). */
  censored: number;
  /** Wait percentiles, ms; `lowerBound` when censored waits (still waiting at the end) may lie above. */
  waitP50: Wait;
  waitP99: Wait;
  waitMax: Wait;
  /** Share (%) of those acquires that waited longer than 5 s. */
  over5sPercent: number;
  /** Share (%) of granted acquires that waited more than 2× what their place in line implies. */
  unfairPercent: number;
  /** Largest wait / implied wait. */
  worstLineRatio: number;
  /** Pairs of sections whose [granted, release called] intervals overlap (whole run). */
  overlaps: number;
  /** Acquires that gave up (whole run), and releases that did not succeed. */
  failures: number;
  failureCodes: Record<string, number>;
  releaseFailures: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Sections whose lock intervals overlap another's: must be 0 for a lock. */
export function countOverlaps(records: AcquireRecord[]): number {
  const held = records
    .filter((r) => r[1] !== undefined && r[2] !== undefined)
    .map((r) => [r[1]!, r[2]!] as const)
    .sort((a, b) => a[0] - b[0]);
  let overlaps = 0;
  let lastEnd = Number.NEGATIVE_INFINITY;
  for (const [granted, releaseCalled] of held) {
    if (granted < lastEnd) overlaps++;
    lastEnd = Math.max(lastEnd, releaseCalled);
  }
  return overlaps;
}

interface Waiting {
  start: number;
  /** Granted, gave up or censored: when it stopped waiting. */
  until: number;
}

/**
 * Line fairness. For an acquire started at `s`: the acquires already waiting then (started
 * earlier, not yet granted or given up) plus one if the lock was held at `s`, times the mean
 * section time, is the wait its place in line implies; with nobody ahead it is one section
 * time (a caller that finds the lock free can still lose a race to one arriving with it).
 */
function lineRatios(
  window: { start: number; granted: number }[],
  all: Waiting[],
  held: (readonly [number, number])[],
  meanSectionMs: number,
): number[] {
  const byStart = [...all].sort((a, b) => a.start - b.start);
  return window.map(({ start, granted }) => {
    let ahead = 0;
    for (const w of byStart) {
      if (w.start >= start) break;
      if (w.until > start) ahead++;
    }
    // `held` is sorted by grant and never overlaps (checked separately): a binary search finds
    // the last section granted at or before `start`.
    let lo = 0;
    let hi = held.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (held[mid]![0] <= start) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const lockHeld = last >= 0 && held[last]![1] > start ? 1 : 0;
    const implied = Math.max(1, ahead + lockHeld) * meanSectionMs;
    return (granted - start) / implied;
  });
}

export function analyse(logs: RunLogs): RunFigures {
  const { records, failures, windowStart, windowEnd, stopAt, roundTripMs } = logs;
  const windowMs = windowEnd - windowStart;
  const inWindow = (t: number) => t >= windowStart && t < windowEnd;
  const sectionsIn = records.filter((r) => r[1] !== undefined && r[2] !== undefined && inWindow(r[1]));
  const sections = sectionsIn.length;
  const meanHoldMs =
    sections === 0 ? Number.NaN : sectionsIn.reduce((a, r) => a + (r[2]! - r[1]!), 0) / sections;
  const meanSectionMs = sections === 0 ? Number.NaN : windowMs / sections;
  const sectionsPerSec = (sections / windowMs) * 1000;
  const serialLimit = 1000 / (meanHoldMs + roundTripMs);

  // Every acquire that was waiting at some time in the window: started before its end and not
  // granted before its start. Those started during the warm-up are kept (a worker starved since
  // then must show), but every wait that ended in the warm-up is not.
  const waitingIn = (start: number, until: number) => start < windowEnd && until > windowStart;
  const started = records.filter((r) => waitingIn(r[0], r[1] ?? stopAt));
  const failedInWindow = failures.filter((f) => waitingIn(f.start, f.at));
  const waits = [
    ...started.map((r) => (r[1] ?? stopAt) - r[0]),
    ...failedInWindow.map((f) => f.at - f.start),
  ].sort((a, b) => a - b);
  const censoredWaits = started.filter((r) => r[1] === undefined).map((r) => stopAt - r[0]);
  const censored = censoredWaits.length;
  // A censored wait is a lower bound: a percentile at or above the shortest one could be higher.
  const minCensored = Math.min(...censoredWaits);
  const bound = (v: number) => ({ value: v, lowerBound: v >= minCensored });
  const fromWarmup = started.filter((r) => r[0] < windowStart).length;

  const all: Waiting[] = [
    ...records.map((r) => ({ start: r[0], until: r[1] ?? stopAt })),
    ...failures.map((f) => ({ start: f.start, until: f.at })),
  ];
  const held = records
    .filter((r) => r[1] !== undefined && r[2] !== undefined)
    .map((r) => [r[1]!, r[2]!] as const)
    .sort((a, b) => a[0] - b[0]);
  const grantedInWindow = started
    .filter((r) => r[1] !== undefined)
    .map((r) => ({ start: r[0], granted: r[1]! }));
  const ratios = lineRatios(grantedInWindow, all, held, meanSectionMs);

  const failureCodes: Record<string, number> = {};
  for (const f of failures) failureCodes[f.code] = (failureCodes[f.code] ?? 0) + 1;
  return {
    sections,
    sectionsPerSec,
    meanHoldMs,
    meanSectionMs,
    serialLimit,
    percentOfLimit: (sectionsPerSec / serialLimit) * 100,
    acquires: waits.length,
    fromWarmup,
    censored,
    waitP50: bound(percentile(waits, 50)),
    waitP99: bound(percentile(waits, 99)),
    waitMax: bound(waits.at(-1) ?? Number.NaN),
    over5sPercent: waits.length === 0 ? 0 : (waits.filter((w) => w > 5000).length / waits.length) * 100,
    unfairPercent: ratios.length === 0 ? 0 : (ratios.filter((x) => x > 2).length / ratios.length) * 100,
    worstLineRatio: ratios.length === 0 ? 0 : Math.max(...ratios),
    overlaps: countOverlaps(records),
    failures: failures.length,
    failureCodes,
    releaseFailures: logs.releaseFailures,
  };
}
