import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Book-keeping of everything the kit starts, so that it is all torn down:
 * - `stopAll()` stops whatever is still running (call it in afterAll; servers' own `stop()` is better);
 * - on process exit every child still alive is SIGKILLed and its temp dir removed;
 * - every child is also recorded as a file in the state dir, so that a reaper in another process
 *   (the Jest global teardown, see jest/global-teardown.cjs) can kill what a crashed test
 *   worker left behind. Record format: `{ pid, kind, tempDir, owner }` in `<stateDir>/<pid>.json`.
 */

export interface Stoppable {
  stop(): Promise<void>;
}

const stoppables = new Set<Stoppable>();
const liveChildren = new Map<number, { child: ChildProcess; record: string; tempDir?: string }>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** Where child records go: per Jest run when run under the preset, else per process. */
export function stateDir(): string {
  const dir =
    process.env.VOELGOED_TESTKIT_STATE_DIR ||
    path.join(os.tmpdir(), 'voelgoed-testkit', `proc-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Root under which every server's temp dir is made. */
export function tempRoot(): string {
  const dir = path.join(os.tmpdir(), 'voelgoed-testkit', 'servers');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(path.join(tempRoot(), `${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export function trackChild(child: ChildProcess, kind: string, tempDir?: string): void {
  installExitHook();
  const pid = child.pid;
  if (pid === undefined) return;
  const record = path.join(stateDir(), `${pid}.json`);
  liveChildren.set(pid, tempDir === undefined ? { child, record } : { child, record, tempDir });
  writeFileSync(record, JSON.stringify({ pid, kind, tempDir, owner: process.pid }));
  child.once('exit', () => {
    liveChildren.delete(pid);
    try {
      unlinkSync(record);
    } catch {
      // already reaped
    }
  });
}

export function trackStoppable(stoppable: Stoppable): void {
  stoppables.add(stoppable);
}

export function untrackStoppable(stoppable: Stoppable): void {
  stoppables.delete(stoppable);
}

/** Stops everything this process started through the kit and is still running. */
export async function stopAll(): Promise<void> {
  const pending = [...stoppables].reverse();
  stoppables.clear();
  const results = await Promise.allSettled(pending.map((s) => s.stop()));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0)
    throw new AggregateError(
      failed.map((f) => f.reason),
      '[testkit] stopAll failed',
    );
}

/** Pids of child processes the kit started in this process and that are still running. */
export function liveChildPids(): number[] {
  return [...liveChildren.keys()];
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: kill what is left (SIGKILL also ends a SIGSTOPped process).
  process.once('exit', () => {
    for (const [pid, { tempDir, record }] of liveChildren) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      rmSync(record, { force: true });
    }
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    // A per-process state dir is ours alone; a per-run one belongs to the Jest run.
    if (!process.env.VOELGOED_TESTKIT_STATE_DIR) rmSync(stateDir(), { recursive: true, force: true });
  });
}
