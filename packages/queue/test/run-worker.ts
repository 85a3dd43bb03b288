import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export interface WorkerLine {
  event: 'started' | 'aborted';
  id: string;
  token: number;
  attempt?: number;
  code?: string;
}

/** A worker in a child process (fixtures/worker-process.ts, on this package's sources). */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: WorkerLine[] = [];
  #buffer = '';
  #stderr = '';
  readonly #listeners = new Set<() => void>();

  constructor(config: { url: string; queue: string; leaseMs: number; concurrency: number }) {
    const fixtures = path.join(__dirname, 'fixtures');
    this.child = spawn(
      process.execPath,
      [
        '--experimental-transform-types',
        '--disable-warning=ExperimentalWarning',
        '--import',
        path.join(fixtures, 'ts-hooks.mjs'),
        path.join(fixtures, 'worker-process.ts'),
        JSON.stringify(config),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    this.child.stdout!.on('data', (d: Buffer) => {
      this.#buffer += d.toString();
      let at = this.#buffer.indexOf('\n');
      while (at >= 0) {
        this.lines.push(JSON.parse(this.#buffer.slice(0, at)) as WorkerLine);
        this.#buffer = this.#buffer.slice(at + 1);
        at = this.#buffer.indexOf('\n');
      }
      for (const listener of this.#listeners) listener();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.#stderr += d.toString();
    });
  }

  /** Resolves once `count` lines match, or rejects after `timeoutMs` with what was seen. */
  waitFor(match: (line: WorkerLine) => boolean, count: number, timeoutMs = 60_000): Promise<WorkerLine[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.filter(match);
        if (found.length < count) return false;
        clearTimeout(timer);
        this.#listeners.delete(check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(check);
        reject(
          new Error(
            `worker process: ${count} lines not seen; got ${JSON.stringify(this.lines)} ${this.#stderr}`,
          ),
        );
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** Resolves once `probe` returns true (polled every 20 ms), or rejects after `timeoutMs`. */
export async function until(probe: () => boolean | Promise<boolean>, { timeoutMs }: { timeoutMs: number }) {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${probe}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
