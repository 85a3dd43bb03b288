import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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

export class JobWorkerProcess {
  readonly child: ChildProcess;
  readonly lines: JobWorkerLine[] = [];
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #buffer = '';
  #stderr = '';
  readonly #listeners = new Set<() => void>();

  /** `bundle`: a file of {@link bundleJobWorker}; without it the TypeScript sources run directly. */
  constructor(config: JobWorkerConfig, bundle?: string) {
    const script = bundle
      ? [bundle]
      : [
          '--experimental-transform-types',
          '--disable-warning=ExperimentalWarning',
          '--import',
          path.join(fixtures, 'ts-hooks.mjs'),
          path.join(fixtures, 'job-worker.ts'),
        ];
    this.child = spawn(process.execPath, [...script, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    this.child.stdout!.on('data', (d: Buffer) => {
      this.#buffer += d.toString();
      let at = this.#buffer.indexOf('\n');
      while (at >= 0) {
        this.lines.push(JSON.parse(this.#buffer.slice(0, at)) as JobWorkerLine);
        this.#buffer = this.#buffer.slice(at + 1);
        at = this.#buffer.indexOf('\n');
      }
      for (const listener of this.#listeners) listener();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `count` lines match; rejects when the process exits first or after `timeoutMs`. */
  waitFor(
    match: (line: JobWorkerLine) => boolean,
    count: number,
    timeoutMs = 60_000,
  ): Promise<JobWorkerLine[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.filter(match);
        if (found.length < count) return false;
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(found);
        return true;
      };
      const fail = (why: string) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        reject(
          new Error(
            `worker process ${this.pid}: ${count} lines not seen (${why}); got ${JSON.stringify(this.lines.slice(-50))} ${this.#stderr}`,
          ),
        );
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms`), timeoutMs);
      this.#listeners.add(check);
      if (!check()) {
        // Lines still in the pipe are read before 'close' (which follows 'exit').
        this.child.once('close', () => {
          if (!check()) fail('the process exited');
        });
      }
    });
  }

  get ready(): boolean {
    return this.lines.some((l) => l.event === 'ready');
  }

  /** Starts a `standby` process taking jobs (only once it is ready: its handler is set by then). */
  go(): void {
    this.child.kill('SIGUSR2');
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL (after SIGCONT, in case it was stopped); resolves once the process is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
