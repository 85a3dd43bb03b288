import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeChild } from '@voelgoed/testkit';

export interface JobWorkerLine {
  event: 'ready' | 'started' | 'aborted' | 'done' | 'closing' | 'closed';
  pid: number;
  id?: string;
  token?: number;
  attempt?: number;
  code?: string;
}

export interface JobWorkerConfig {
  url: string;
  queue: string;
  leaseMs: number;
  concurrency: number;
  runsKey?: string;
  logKey?: string;
  graceMs?: number;
  verbose?: boolean;
  /** Connect and wait for {@link JobWorkerProcess.go} before taking jobs. */
  standby?: boolean;
  commandTimeoutMs?: number;
  /** Every delivery waits until its signal aborts, whatever its payload. */
  holdAll?: boolean;
}

const fixtures = path.join(__dirname, 'fixtures');

/**
 * Bundles fixtures/job-worker.ts with this package's sources and its dependencies into one
 * CommonJS file (tsup, this package's own build tool). A process started from it needs less
 * than half the CPU of one that transforms the TypeScript sources at start-up (about 0.5 s
 * against 1.2 s measured here), which matters when a test starts a hundred. Returns the file and a function that removes it.
 */
export async function bundleJobWorker(): Promise<{ file: string; remove: () => void }> {
  const outDir = path.join(os.tmpdir(), `voelgoed-queue-worker-${randomUUID()}`);
  const options = {
    entry: { 'job-worker': path.join(fixtures, 'job-worker.ts') },
    outDir,
    format: ['cjs'],
    platform: 'node',
    target: 'node22',
    config: false,
    silent: true,
    dts: false,
    sourcemap: false,
    splitting: false,
  };
  // In a process of its own: tsup and esbuild stay out of the test's module registry.
  const script = `require('tsup').build({ ...${JSON.stringify(options)}, noExternal: [/.*/],
    outExtension: () => ({ js: '.cjs' }) }).catch((e) => { console.error(e); process.exit(1); })`;
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', script],
      { cwd: path.join(__dirname, '..'), env: { ...process.env, NODE_OPTIONS: '' } },
      (error, _stdout, stderr) => (error ? reject(new Error(`bundling failed: ${stderr}`)) : resolve()),
    );
  });
  return {
    file: path.join(outDir, 'job-worker.cjs'),
    remove: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

/**
 * A worker in a child process: fixtures/job-worker.ts on this package's sources, or its bundle
 * ({@link bundleJobWorker}). The plumbing (JSON lines, waits, kill, clean-up) is the test kit's.
 */
export class JobWorkerProcess extends NodeChild<JobWorkerLine> {
  /** `bundle`: a file of {@link bundleJobWorker}; without it the TypeScript sources run directly. */
  constructor(config: JobWorkerConfig, bundle?: string) {
    super(bundle ?? path.join(fixtures, 'job-worker.ts'), { config, name: 'job worker' });
  }

  get ready(): boolean {
    return this.lines.some((l) => l.event === 'ready');
  }

  /** Starts a `standby` process taking jobs (only once it is ready: its handler is set by then). */
  go(): void {
    this.child.kill('SIGUSR2');
  }
}
