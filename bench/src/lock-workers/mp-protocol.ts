// The messages between the multi-process scenario's parent (multiprocess.ts) and its worker
// processes (mp-worker.ts), and the helpers both sides use.

export type WorkerKind = 'ours' | 'ours-unfair' | 'redlock';

export interface WorkerConfig {
  kind: WorkerKind;
  index: number;
  urls: string[];
  servers: { host: string; port: number }[];
  resource: string;
  ttlMs: number;
  holdMaxMs: number;
  seed: number;
}

/** One acquire: started, granted (or undefined), release called, release settled. */
export type AcquireRecord = [start: number, granted?: number, releaseCalled?: number, released?: number];

export interface FailureRecord {
  start: number;
  at: number;
  code: string;
}

export type ParentMessage = { type: 'go'; startAt: number; stopAt: number };
export type WorkerMessage =
  | { type: 'ready' }
  | {
      type: 'done';
      index: number;
      records: AcquireRecord[];
      failures: FailureRecord[];
      releaseFailures: number;
    }
  | { type: 'error'; index: number; message: string };

/** ms on CLOCK_MONOTONIC: the same clock in every process on this machine. */
export const clockMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** mulberry32: a small seeded PRNG, so every run draws the same hold times per worker. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
