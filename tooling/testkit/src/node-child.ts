import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { trackChild, trackStoppable, untrackStoppable } from './registry.js';

/**
 * The kit's resolve hook for children that run TypeScript sources (`./x.js` → `./x.ts`). Same
 * path from src/ (tests) and dist/ (built; tsup shims __dirname in the ESM build).
 */
export const tsHooksPath = path.join(__dirname, '..', 'ts-hooks.mjs');

/** Node flags that run a `.ts` program directly: type stripping and the kit's resolve hook. */
export const TS_NODE_ARGS: readonly string[] = [
  '--experimental-transform-types',
  '--disable-warning=ExperimentalWarning',
  '--import',
  tsHooksPath,
];

export interface NodeChildOptions {
  /** Given to the program as `process.argv[2]`, JSON-encoded (most fixtures take their config so). */
  config?: unknown;
  /** Node flags before the program (`--expose-gc`, …); the TypeScript flags are added for a `.ts` program. */
  nodeArgs?: string[];
  /** Named in error messages; the program's file name when absent. */
  name?: string;
}

export interface NodeChildExit {
  /** The exit code; null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A node child process running a test fixture (a `.ts` file runs on the sources through the kit's
 * hooks; any other file as it is). Each stdout line that is JSON is parsed into {@link lines};
 * other output is kept for error messages. The child is recorded like the kit's servers: killed on
 * `stopAll()`, when this process exits, and by the Jest run's reaper if this process crashes.
 */
export class NodeChild<Line = Record<string, unknown>> {
  readonly child: ChildProcess;
  /** Every JSON line printed so far, in order. */
  readonly lines: Line[] = [];
  /** Resolves once the process has exited and its output has been read to the end. */
  readonly exited: Promise<NodeChildExit>;
  readonly name: string;
  #partial = '';
  #otherOutput = '';
  #stderr = '';
  #closed = false;
  readonly #listeners = new Set<() => void>();

  constructor(program: string, options: NodeChildOptions = {}) {
    this.name = options.name ?? path.basename(program);
    this.child = spawn(process.execPath, nodeArgsFor(program, options), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    trackChild(this.child, path.basename(program));
    trackStoppable(this);
    this.exited = new Promise((resolve) => {
      const ended = (exit: NodeChildExit) => {
        if (this.#closed) return;
        this.#closed = true;
        untrackStoppable(this);
        this.#notify();
        resolve(exit);
      };
      this.child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
        ended({ code, signal }),
      );
      // Only when node itself could not be started (no 'close' follows then).
      this.child.once('error', (error) => {
        this.#stderr += `[spawn failed: ${error.message}]`;
        if (this.child.pid === undefined) ended({ code: null, signal: null });
      });
    });
    this.child.stdout?.on('data', (data: Buffer) => this.#read(data.toString()));
    this.child.stderr?.on('data', (data: Buffer) => {
      this.#stderr += data.toString();
    });
  }

  /** The child's pid (0 if it could not be started). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** True until the process has exited. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Resolves with the matching lines once `count` lines match; rejects when the process ends
   * first or after `timeoutMs`, saying what it printed.
   */
  waitFor(match: (line: Line) => boolean, count = 1, timeoutMs = 60_000): Promise<Line[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.filter(match);
        if (found.length >= count) return finish(() => resolve(found));
        if (this.#closed) finish(() => reject(this.#error(`${count} lines not seen (the process exited)`)));
      };
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        settle();
      };
      const timer = setTimeout(
        () => finish(() => reject(this.#error(`${count} lines not seen in ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.#listeners.add(check);
      check();
    });
  }

  /**
   * The last JSON line of a program that prints its result and exits 0. Rejects when it exits
   * otherwise or prints no JSON line, and kills it after `timeoutMs`.
   */
  async result(timeoutMs = 180_000): Promise<Line> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    if (code !== 0) throw this.#error(`exited with ${code ?? signal}`);
    const last = this.lines.at(-1);
    if (last === undefined) throw this.#error('printed no JSON line');
    return last;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL (after SIGCONT, in case it was stopped); resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** For the kit's `stopAll()`. */
  stop(): Promise<void> {
    return this.kill();
  }

  #read(text: string): void {
    this.#partial += text;
    for (let at = this.#partial.indexOf('\n'); at >= 0; at = this.#partial.indexOf('\n')) {
      this.#take(this.#partial.slice(0, at));
      this.#partial = this.#partial.slice(at + 1);
    }
    this.#notify();
  }

  #take(line: string): void {
    if (line.startsWith('{') || line.startsWith('[')) {
      try {
        this.lines.push(JSON.parse(line) as Line);
        return;
      } catch {
        // not JSON after all: kept with the other output
      }
    }
    this.#otherOutput += `${line}\n`;
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }

  #error(what: string): Error {
    const printed = JSON.stringify(this.lines.slice(-50)).slice(-4000);
    return new Error(
      `[testkit] ${this.name} (pid ${this.pid}): ${what}; printed ${printed} ${this.#otherOutput.slice(-1000)}` +
        `${this.#stderr.slice(-2000)}`,
    );
  }
}

function nodeArgsFor(program: string, options: NodeChildOptions): string[] {
  const typescript = program.endsWith('.ts') ? TS_NODE_ARGS : [];
  const config = options.config === undefined ? [] : [JSON.stringify(options.config)];
  return [...(options.nodeArgs ?? []), ...typescript, program, ...config];
}

/** Starts `program` (a fixture file) in a node child process; see {@link NodeChild}. */
export function startNodeChild<Line = Record<string, unknown>>(
  program: string,
  options: NodeChildOptions = {},
): NodeChild<Line> {
  return new NodeChild<Line>(program, options);
}

/**
 * Runs `program` once in a child process and resolves with the last JSON line it printed (its
 * result), or rejects with its output when it fails or takes longer than `timeoutMs`.
 */
export function runNodeChild<Result>(
  program: string,
  options: NodeChildOptions & { timeoutMs?: number } = {},
): Promise<Result> {
  return new NodeChild<Result>(program, options).result(options.timeoutMs);
}
