import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getFreePort } from './ports.js';
import { requireCommand, spawnServer, terminate, waitFor, waitForExit } from './process.js';
import {
  makeTempDir,
  removeTempDir,
  type Stoppable,
  trackChild,
  trackStoppable,
  untrackStoppable,
} from './registry.js';
import { RespError, type RespValue, redisCall } from './resp.js';

export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
  /** Keep data across `restart()` with an append-only file. Default false (restart empty). */
  appendOnly?: boolean;
  /** Start as a cluster node (used by {@link startRedisCluster}). */
  cluster?: boolean;
  /** Start in Sentinel mode with this config text (used by {@link startRedisSentinel}). */
  sentinelConfig?: string;
  /** Fixed port (default: a free one). */
  port?: number;
  /** Label for temp dirs and messages. */
  name?: string;
}

/** A real `redis-server` process on 127.0.0.1, with fault controls. */
export class RedisServer implements Stoppable {
  readonly host = '127.0.0.1';
  #child: ChildProcess | undefined;
  #paused = false;
  #stopped = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly argv: string[],
    private readonly options: StartRedisOptions,
  ) {}

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** Pid of the current process (changes on restart); undefined while killed. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  /** @internal */
  static async start(options: StartRedisOptions = {}): Promise<RedisServer> {
    requireCommand('redis-server', 'redis-server');
    const name = options.name ?? (options.sentinelConfig ? 'sentinel' : 'redis');
    let lastError: unknown;
    // A free port can be taken by someone else before redis binds it: retry on a new one.
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = options.port ?? (await getFreePort(options.cluster ? { offsetFree: 10000 } : {}));
      const dir = makeTempDir(`${name}-${port}`);
      const server = new RedisServer(port, dir, RedisServer.argv(port, dir, options), options);
      try {
        await server.launch();
        trackStoppable(server);
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
        if (options.port !== undefined) break;
      }
    }
    throw lastError instanceof Error ? lastError : new Error(String(lastError));
  }

  private static argv(port: number, dir: string, options: StartRedisOptions): string[] {
    const common = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
      '--dir',
      dir,
      '--logfile',
      path.join(dir, 'redis.log'),
    ];
    if (options.sentinelConfig !== undefined)
      return [path.join(dir, 'sentinel.conf'), '--sentinel', ...common];
    const persistence = options.appendOnly
      ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--save', '', '--appendonly', 'no'];
    const cluster = options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf')]
      : [];
    return [...common, ...persistence, ...cluster, ...(options.args ?? [])];
  }

  private async launch(): Promise<void> {
    if (this.options.sentinelConfig !== undefined) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(this.dir, 'sentinel.conf'), this.options.sentinelConfig);
    }
    const child = spawnServer('redis-server', this.argv, this.dir);
    this.#child = child;
    this.#paused = false;
    trackChild(child, 'redis-server', this.dir);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await waitFor(`redis-server on port ${this.port}`, async () => {
      if (exited) throw new Error(`redis-server exited at start: ${this.logTail()}`);
      const reply = await redisCall(this.port, ['PING'], { timeoutMs: 1000 });
      if (reply instanceof RespError && reply.message.startsWith('LOADING')) return undefined;
      // With --requirepass the server answers NOAUTH: it is up.
      if (reply instanceof RespError && reply.message.startsWith('NOAUTH')) return true;
      return reply === 'PONG' ? true : undefined;
    });
  }

  /** Last lines of the server's log, for error messages. */
  logTail(lines = 5): string {
    try {
      return readFileSync(path.join(this.dir, 'redis.log'), 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Sends one command with the kit's own tiny client (rejects after timeoutMs). */
  call(args: readonly (string | number)[], timeoutMs = 2000): Promise<RespValue> {
    return redisCall(this.port, args, { timeoutMs });
  }

  /** SIGKILL: the server disappears at once; connections are refused until `restart()`. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = waitForExit(child);
    child.kill('SIGKILL');
    await exited;
    this.#paused = false;
  }

  /** SIGSTOP: the server keeps its port and connections but answers nothing until `resume()`. */
  pause(): void {
    if (!this.#child || this.pid === undefined) throw new Error('[testkit] cannot pause: server not running');
    this.#child.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT after `pause()`. */
  resume(): void {
    if (!this.#child || this.pid === undefined)
      throw new Error('[testkit] cannot resume: server not running');
    this.#child.kill('SIGCONT');
    this.#paused = false;
  }

  /**
   * Starts the server again on the same port and dir (after `kill()`, or kills it first).
   * Data survives only with `appendOnly: true`.
   */
  async restart(): Promise<void> {
    if (this.#stopped) throw new Error('[testkit] cannot restart a stopped server');
    await this.kill();
    await waitFor(`port ${this.port} to be released`, async () => {
      try {
        await redisCall(this.port, ['PING'], { timeoutMs: 200 });
        return undefined;
      } catch {
        return true;
      }
    });
    await this.launch();
  }

  /** Stops the server for good and removes its temp dir. */
  async stop(): Promise<void> {
    this.#stopped = true;
    untrackStoppable(this);
    if (this.#child) await terminate(this.#child, 'SIGKILL');
    this.#paused = false;
    removeTempDir(this.dir);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts one real `redis-server` on a free port with its own temp dir. */
export function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  return RedisServer.start(options);
}

/** n independent masters (for Redlock), started in parallel. */
export async function startRedisGroup(n: number, options: StartRedisOptions = {}): Promise<RedisGroup> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`[testkit] startRedisGroup needs n >= 1, got ${n}`);
  const started = await Promise.allSettled(Array.from({ length: n }, () => startRedis(options)));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failure.reason;
  }
  return new RedisGroup(servers);
}

export class RedisGroup implements Stoppable {
  constructor(readonly servers: RedisServer[]) {}

  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
