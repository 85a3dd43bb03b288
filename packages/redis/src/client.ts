import { channel } from 'node:diagnostics_channel';
import {
  createClient,
  createClientPool,
  createCluster,
  createSentinel,
  RESP_TYPES,
  type RedisClientPoolType,
  type RedisClientType,
  type RedisClusterType,
  type RedisSentinelType,
} from '@redis/client';
import { Channels, type InfrastructureError, type RedisCommandEvent } from '@voelgoed/contracts';
import {
  commandName,
  isReadonlyCommand,
  notOnSharedConnection,
  type RedisArgument,
  type RedisReply,
  routingKey,
} from './commands.js';
import { RespConnection } from './connection.js';
import { type Deadline, DeadlineSweeper } from './deadline.js';
import { connectFailure, connectionError, invalidArgument, mapError, RedisTimeoutError } from './errors.js';
import { describeTarget, type RedisClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ErrorReply } from './resp.js';
import { keySlot } from './slots.js';
import {
  attachCommands,
  checkTypeMapping,
  type NoTypeMapping,
  type RedisCommandMethods,
  type RedisMulti,
  runTyped,
  type TypeMapping,
  typedView,
} from './typed-commands.js';
import { createMulti } from './typed-multi.js';

export type { RedisArgument, RedisReply } from './commands.js';

/** One command: name first, then its arguments. */
export type RedisCommand = readonly RedisArgument[];

/** Outcome of one command of a pipeline. */
export type PipelineResult<T = RedisReply> =
  | { ok: true; value: T }
  | { ok: false; error: InfrastructureError };

export interface CommandOptions {
  /** Overrides the client's `commandTimeoutMs` for this call. */
  timeoutMs?: number;
  /**
   * Read bulk strings of the reply as Buffers, byte-exact (binary values). Simple-string replies
   * (`OK`), integers and nil are unchanged. [false: UTF-8 strings]
   */
  returnBuffers?: boolean;
}

/** node-redis's type mapping that reads bulk strings as Buffers. */
const BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

export interface RedisHealth {
  state: ConnectionState;
  /** Round trip of a PING just now, or undefined when it failed. */
  pingMs: number | undefined;
  /** Commands sent and not yet answered or timed out. */
  inFlight: number;
  /** Deadlines being tracked (in flight plus settled ones not yet swept). */
  queueDepth: number;
  /** Message of the last connection error, if any (never holds a password). */
  lastError: string | undefined;
  target: string;
}

/** Payload published on `voelgoed:redis:command` for every command (name only, never keys or values). */
export type { RedisCommandEvent };

const commandChannel = channel(Channels.redisCommand);

/** node-redis client: the pool's connections and pub/sub subscribers of a standalone client. */
type StandaloneClient = RedisClientType;
type Backend =
  | { kind: 'standalone'; client: RespConnection }
  | { kind: 'cluster'; client: RedisClusterType }
  | { kind: 'sentinel'; client: RedisSentinelType };

/**
 * Throws INVALID_ARGUMENT for a malformed command, or (when `shared`) for one that would change
 * the shared connection for every caller on it; returns whether it holds numbers to convert.
 */
function validateCommand(args: unknown, what = 'command', shared = true): boolean {
  if (!Array.isArray(args) || args.length === 0) {
    throw invalidArgument(`${what} must be a non-empty array such as ["GET", "key"]`);
  }
  const first = args[0];
  if (typeof first !== 'string' || first === '')
    throw invalidArgument(`${what} name must be a non-empty string`);
  if (shared) {
    const why = notOnSharedConnection(first, args as RedisArgument[]);
    if (why !== undefined) {
      throw invalidArgument(
        `${what}: ${commandName(args as RedisArgument[])} cannot run on the shared connection: ${why}`,
      );
    }
  }
  let numbers = false;
  for (let i = 1; i < args.length; i++) {
    const arg: unknown = args[i];
    if (typeof arg === 'string') continue;
    if (typeof arg === 'number' && Number.isFinite(arg)) {
      numbers = true;
      continue;
    }
    if (Buffer.isBuffer(arg)) continue;
    throw invalidArgument(`${what} arguments must be strings, Buffers or finite numbers`);
  }
  return numbers;
}

function toArgs(args: RedisCommand): (string | Buffer)[] {
  // node-redis takes strings and Buffers only.
  return args.map((a) => (typeof a === 'number' ? String(a) : a));
}

function keyArg(key: RedisArgument | undefined): string | Buffer | undefined {
  return typeof key === 'number' ? String(key) : key;
}

/**
 * Every Redis command as a typed method with node-redis's names, arguments and RESP2 reply
 * types (`get`, `hSet`, `zRangeWithScores`, …), attached below from node-redis's definitions.
 */
export interface RedisClient extends RedisCommandMethods {}

/**
 * A Redis client on node-redis for standalone servers, Cluster and Sentinel, with a real
 * deadline per command, fast failure during outages, per-command pipeline results and
 * telemetry. Create it with {@link createRedisClient}.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the typed methods are attached to the prototype at load time
export class RedisClient {
  readonly #options: ResolvedOptions;
  readonly #backend: Backend;
  readonly #sweeper = new DeadlineSweeper(10);
  readonly #target: string;
  #pool: RedisClientPoolType | undefined;
  #state: ConnectionState = 'connecting';
  #everReady = false;
  #ready: Promise<void>;
  #inFlight = 0;
  readonly #connectWaiters = new Set<(error: unknown) => void>();
  /** Callers of ready() waiting for the next ready connection or failed attempt. */
  readonly #readyWaiters = new Set<{ ready(): void; fail(error: unknown): void }>();
  #lastError: string | undefined;
  #topologyTimer: NodeJS.Timeout | undefined;
  readonly #subscribers: StandaloneClient[] = [];

  constructor(input: string | RedisClientOptions = {}) {
    this.#options = resolveOptions(input);
    this.#target = describeTarget(this.#options);
    this.#backend = this.#createBackend();
    this.#ready = this.#connect();
    // A failed first connect is reported to callers through their commands.
    this.#ready.catch(() => {});
  }

  /** `host:port`, `cluster(…)` or `sentinel(name)`: never credentials. */
  get target(): string {
    return this.#target;
  }

  /** Which kind of deployment this client talks to. */
  get deployment(): 'standalone' | 'cluster' | 'sentinel' {
    return this.#backend.kind;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  #socketOptions() {
    const o = this.#options;
    const reconnectStrategy = (retries: number) => {
      if (this.#state === 'closing' || this.#state === 'closed') return false;
      // Full jitter over a capped exponential.
      const cap = Math.min(o.maxDelayMs, o.minDelayMs * 2 ** Math.min(retries, 16));
      return Math.max(o.minDelayMs, Math.floor(Math.random() * cap));
    };
    return {
      connectTimeout: o.connectTimeoutMs,
      reconnectStrategy,
      ...(o.tls ? { tls: true as const, ...o.tls } : {}),
    };
  }

  /** node-redis options every node-redis client of ours shares (Cluster, Sentinel, pool, subscribers). */
  #nodeRedisCommon() {
    const o = this.#options;
    return {
      ...(o.username === undefined ? {} : { username: o.username }),
      ...(o.password === undefined ? {} : { password: o.password }),
      ...(o.clientName === undefined ? {} : { name: o.clientName }),
      // An outage fails commands at once (ConnectionError) instead of piling them up.
      disableOfflineQueue: true,
      // node-redis's own 5 s default timeout arms an AbortSignal timer per command (costly) and
      // stops counting once the command is written; our swept deadline replaces it.
      commandOptions: { timeout: 0 },
      // RESP2, as the standalone connection speaks: the same reply shapes (HGETALL a flat list,
      // not a map) on every deployment, for command() and for the typed methods' transformers.
      RESP: 2 as const,
    };
  }

  #createBackend(): Backend {
    const o = this.#options;
    const common = this.#nodeRedisCommon();
    if (o.cluster) {
      const client = createCluster({
        rootNodes: o.cluster.nodes.map((n) => ({
          socket: { host: n.host, port: n.port, ...this.#socketOptions() },
        })),
        defaults: { ...common, socket: this.#socketOptions() },
        commandOptions: { timeout: 0 },
        RESP: 2,
      }) as unknown as RedisClusterType;
      client.on('error', (e: unknown) => this.#onError(e));
      return { kind: 'cluster', client };
    }
    if (o.sentinel) {
      const { commandOptions, RESP, ...nodeCommon } = common;
      const client = createSentinel({
        name: o.sentinel.name,
        commandOptions,
        RESP,
        sentinelRootNodes: o.sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
        nodeClientOptions: { ...nodeCommon, database: o.db, socket: this.#socketOptions() },
        sentinelClientOptions: {
          ...(o.sentinel.sentinelPassword === undefined ? {} : { password: o.sentinel.sentinelPassword }),
          socket: this.#socketOptions(),
        },
        masterPoolSize: 1,
        reserveClient: false,
      }) as unknown as RedisSentinelType;
      client.on('error', (e: unknown) => this.#onError(e));
      return { kind: 'sentinel', client };
    }
    // Built now, at start-up, rather than at the first subscribe() mid-run.
    nodeRedisTemplate();
    // The shared connection of a standalone client is our own RESP pipeline (see connection.ts).
    const client = new RespConnection({
      host: o.host,
      port: o.port,
      tls: o.tls,
      username: o.username,
      password: o.password,
      db: o.db,
      clientName: o.clientName,
      connectTimeoutMs: o.connectTimeoutMs,
      reconnectStrategy: this.#socketOptions().reconnectStrategy,
      onError: (e) => this.#onError(e),
      onReady: () => this.#markReady(),
      onReconnecting: () => {
        if (this.#state === 'ready') this.#state = 'reconnecting';
      },
      onEnd: () => {
        if (this.#state !== 'closing') this.#state = 'closed';
      },
    });
    return { kind: 'standalone', client };
  }

  #onError(error: unknown): void {
    const message = (error as { message?: string })?.message ?? String(error);
    this.#lastError = message;
    // Before the first connection, a connection error fails the waiting commands at once
    // (wrong password, nothing listening) instead of letting them run into their deadline.
    if (!this.#everReady) for (const fail of this.#connectWaiters) fail(error);
    if (!this.#isBackendReady()) for (const waiter of this.#readyWaiters) waiter.fail(error);
    if (this.#state === 'ready' && !this.#isBackendReady()) this.#state = 'reconnecting';
  }

  #markReady(): void {
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#state = 'ready';
    this.#everReady = true;
    for (const waiter of this.#readyWaiters) waiter.ready();
  }

  async #connect(): Promise<void> {
    const deadline = this.#options.connectTimeoutMs;
    try {
      await this.#backend.client.connect();
    } catch (error) {
      this.#lastError = (error as Error)?.message;
      for (const waiter of this.#readyWaiters) waiter.fail(error);
      throw connectionError(`cannot connect to ${this.#target} within ${deadline} ms`, error);
    }
    this.#markReady();
    if (this.#backend.kind === 'cluster' && this.#options.cluster!.topologyRefreshMs > 0) {
      this.#topologyTimer = setInterval(
        () => void this.refreshTopology(),
        this.#options.cluster!.topologyRefreshMs,
      );
      this.#topologyTimer.unref();
    }
  }

  #isBackendReady(): boolean {
    return this.#backend.client.isReady;
  }

  /**
   * Resolves once connected. While not connected, waits for the next connection attempt: rejects
   * with `AuthenticationError` (code `AUTH`) when the server refuses the credentials, and with
   * `ConnectionError` (code `CONNECTION`) when the attempt fails or `connectTimeoutMs` passes.
   * The client keeps reconnecting in the background either way.
   */
  ready(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(connectionError('the client is closed'));
    }
    if (this.#isBackendReady()) return Promise.resolve();
    const ms = this.#options.connectTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        ready: () => {
          done();
          resolve();
        },
        fail: (error: unknown) => {
          done();
          reject(connectFailure(`cannot connect to ${this.#target}`, error));
        },
      };
      const timer = setTimeout(() => {
        done();
        const detail = this.#lastError ? ` (last error: ${this.#lastError})` : '';
        reject(connectionError(`cannot connect to ${this.#target} within ${ms} ms${detail}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.#readyWaiters.delete(waiter);
      };
      this.#readyWaiters.add(waiter);
    });
  }

  /**
   * Sends one command, e.g. `command(['SET', 'k', 'v', 'PX', 1000])`, and resolves with its
   * reply. Rejects with `TimeoutError` (code `TIMEOUT`, `maybeExecuted`) when the deadline
   * passes, `ConnectionError` (code `CONNECTION`) during an outage, `RedisReplyError` for an
   * error reply.
   */
  command<T = RedisReply>(args: RedisCommand, options?: CommandOptions): Promise<T> {
    let timeoutMs = this.#options.commandTimeoutMs;
    let numbers: boolean;
    try {
      numbers = validateCommand(args);
      if (options?.timeoutMs !== undefined) {
        timeoutMs = options.timeoutMs;
        this.#validateTimeout(timeoutMs);
      }
    } catch (error) {
      // Bad input rejects like every other failure, so `.catch()` sees it.
      return Promise.reject(error);
    }
    const buffers = options?.returnBuffers === true;
    if (!this.#backend.client.isReady) return this.#whenReady(args, timeoutMs, buffers) as Promise<T>;
    return this.#send<T>(args, timeoutMs, numbers, buffers);
  }

  /**
   * @internal A command parsed by node-redis's parser (the typed methods): routed in a Cluster
   * by the key the parser found, not by position.
   */
  sendParsed(args: RedisCommand, firstKey: RedisArgument | undefined, buffers: boolean): Promise<unknown> {
    const timeoutMs = this.#options.commandTimeoutMs;
    let numbers: boolean;
    try {
      numbers = validateCommand(args);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#backend.client.isReady) return this.#whenReady(args, timeoutMs, buffers, firstKey);
    return this.#send(args, timeoutMs, numbers, buffers, firstKey);
  }

  /**
   * The typed methods under a node-redis type mapping, e.g.
   * `client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).get(key)` → `Buffer | null`.
   * Bulk strings map to Buffer; mappings node-redis's reply transformers apply (MAP → Map, …)
   * pass through to them.
   */
  withTypeMapping<TM extends TypeMapping>(mapping: TM): RedisCommandMethods<TM> {
    return typedView(this, mapping);
  }

  /**
   * A typed batch with node-redis's method names: `client.multi().set(k, v).get(k).exec()`
   * runs a MULTI/EXEC transaction, `.execAsPipeline()` a pipeline; both resolve a typed tuple.
   */
  multi<TM extends TypeMapping = NoTypeMapping>(typeMapping?: TM): RedisMulti<[], TM> {
    return createMulti(this, typeMapping === undefined ? undefined : (checkTypeMapping(typeMapping) as TM));
  }

  #validateTimeout(timeoutMs: number): void {
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw invalidArgument('timeoutMs must be a finite number > 0');
    }
  }

  /** Not connected: wait for the first connection (within the deadline), or fail fast after an outage. */
  async #whenReady(
    args: RedisCommand,
    timeoutMs: number,
    buffers: boolean,
    routing?: RedisArgument,
  ): Promise<RedisReply> {
    const name = commandName(args);
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw connectionError(`${name} failed: the client is closed`);
    }
    if (this.#everReady) {
      const detail = this.#lastError ? ` (last error: ${this.#lastError})` : '';
      throw connectionError(`${name} failed: not connected to ${this.#target}, reconnecting${detail}`);
    }
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let fail: ((error: unknown) => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new RedisTimeoutError(`${name} timed out after ${timeoutMs} ms waiting to connect`, false)),
        timeoutMs,
      );
      fail = (error) => reject(connectFailure(`${name} failed: cannot connect to ${this.#target}`, error));
      this.#connectWaiters.add(fail);
    });
    try {
      await Promise.race([this.#ready, timeout]);
    } finally {
      clearTimeout(timer);
      if (fail) this.#connectWaiters.delete(fail);
    }
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    return this.#send(args, left, true, buffers, routing);
  }

  /** Sends through node-redis (Cluster, Sentinel), which takes strings and Buffers only. */
  #viaNodeRedis(
    backend: Exclude<Backend, { kind: 'standalone' }>,
    args: RedisCommand,
    numbers: boolean,
    buffers: boolean,
    routing: RedisArgument | undefined,
  ): Promise<unknown> {
    const wire = numbers ? toArgs(args) : (args as (string | Buffer)[]);
    const options = buffers ? BUFFERS : undefined;
    return backend.kind === 'cluster'
      ? backend.client.sendCommand(
          keyArg(routing ?? routingKey(args)),
          isReadonlyCommand(args),
          wire,
          options,
        )
      : backend.client.sendCommand(isReadonlyCommand(args), wire, options);
  }

  /** `numbers`: whether `args` holds numbers (node-redis needs them as strings). */
  #send<T>(
    args: RedisCommand,
    timeoutMs: number,
    numbers: boolean,
    buffers: boolean,
    routing?: RedisArgument,
  ): Promise<T> {
    const pending = new PendingCommand(
      this,
      args,
      timeoutMs,
      commandChannel.hasSubscribers ? performance.now() : 0,
      buffers,
    );
    const promise = new Promise<T>((resolve, reject) => {
      pending.resolve = resolve as (value: unknown) => void;
      pending.reject = reject;
    });
    this.#inFlight++;
    this.#sweeper.track(pending, timeoutMs);
    const backend = this.#backend;
    if (backend.kind === 'standalone') {
      // Settles `pending` directly: no second promise per command. The encoder takes numbers.
      backend.client.write(args, pending);
    } else {
      this.#viaNodeRedis(backend, args, numbers, buffers, routing).then(
        (reply) => pending.settle(reply),
        (error: unknown) => pending.fail(error),
      );
    }
    return promise;
  }

  /** @internal called by PendingCommand when it settles or expires. */
  finished(pending: PendingCommand, errorCode: string | undefined): void {
    this.#inFlight--;
    if (pending.started) this.#publish(pending.args, pending.started, errorCode);
  }

  /** @internal called by PendingCommand when its deadline passed. */
  expired(pending: PendingCommand): void {
    const backend = this.#backend;
    // `at` is the deadline on the sweeper's clock, read at or before the command was written.
    if (backend.kind === 'standalone')
      backend.client.suspectDead(pending.at - pending.timeoutMs, pending.timeoutMs);
  }

  #publish(args: RedisCommand, started: number, errorCode: string | undefined): void {
    const event: RedisCommandEvent = {
      command: commandName(args),
      target: this.#target,
      durationMs: performance.now() - started,
      outcome: errorCode === undefined ? 'ok' : 'error',
      ...(errorCode === undefined ? {} : { errorCode }),
    };
    commandChannel.publish(event);
  }

  /**
   * Sends several commands at once (one round trip where they share a connection) and resolves
   * with one result per command, in order: a failing command does not throw the batch away.
   * In a Cluster, commands on keys in different slots go to their own nodes.
   */
  async pipeline<T = RedisReply>(
    commands: readonly RedisCommand[],
    options?: CommandOptions,
  ): Promise<PipelineResult<T>[]> {
    if (!Array.isArray(commands)) throw invalidArgument('pipeline takes an array of commands');
    for (const [i, c] of commands.entries()) validateCommand(c, `pipeline command ${i}`);
    const settled = await Promise.allSettled(commands.map((c) => this.command<T>(c, options)));
    return settled.map((s) =>
      s.status === 'fulfilled'
        ? { ok: true as const, value: s.value }
        : { ok: false as const, error: mapError(s.reason, 'PIPELINE') },
    );
  }

  /**
   * Runs the commands in MULTI/EXEC and resolves with their replies. In a Cluster all keys must
   * be in one slot (use a hash tag); this is checked before anything is sent (`CROSSSLOT`).
   */
  async transaction<T extends RedisReply[] = RedisReply[]>(
    commands: readonly RedisCommand[],
    options?: CommandOptions,
  ): Promise<T> {
    if (!Array.isArray(commands) || commands.length === 0) {
      throw invalidArgument('transaction takes a non-empty array of commands');
    }
    for (const [i, c] of commands.entries()) validateCommand(c, `transaction command ${i}`);
    const backend = this.#backend;
    const timeoutMs = options?.timeoutMs ?? this.#options.commandTimeoutMs;
    const buffers = options?.returnBuffers === true;
    if (buffers && backend.kind !== 'standalone') {
      // node-redis decodes EXEC's reply without the command's type mapping: bytes would be lost.
      throw invalidArgument(
        `returnBuffers in a transaction needs a standalone server (node-redis decodes a ${backend.kind} EXEC reply as text); read binary values with command() or pipeline()`,
      );
    }
    let exec: () => Promise<unknown>;
    if (backend.kind === 'cluster') {
      const routing = keyArg(this.assertSameSlot(commands));
      const multi = backend.client.multi(routing);
      for (const c of commands) multi.addCommand(keyArg(routingKey(c)), isReadonlyCommand(c), toArgs(c));
      exec = () => multi.exec();
    } else if (backend.kind === 'sentinel') {
      const multi = backend.client.multi();
      for (const c of commands) multi.addCommand(isReadonlyCommand(c), toArgs(c));
      exec = () => multi.exec();
    } else {
      const connection = backend.client;
      exec = () => runTransaction(connection, commands, buffers);
    }
    return this.#withDeadline('EXEC', timeoutMs, exec) as Promise<T>;
  }

  /**
   * Throws `INVALID_ARGUMENT` (reply `CROSSSLOT`) when the commands' keys are not all in one
   * Cluster slot; returns a key to route by. Only the routing key of each command is checked.
   */
  assertSameSlot(commands: readonly RedisCommand[]): RedisArgument | undefined {
    let first: RedisArgument | undefined;
    let slot: number | undefined;
    for (const c of commands) {
      const key = routingKey(c);
      if (key === undefined) continue;
      const s = keySlot(typeof key === 'number' ? String(key) : key);
      if (slot === undefined) {
        slot = s;
        first = key;
      } else if (s !== slot) {
        throw invalidArgument(
          'CROSSSLOT: the commands touch keys in different cluster slots; put a shared {hash tag} in the keys',
        );
      }
    }
    return first;
  }

  async #withDeadline<T>(name: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
    if (!this.#isBackendReady()) {
      if (this.#everReady)
        throw connectionError(`${name} failed: not connected to ${this.#target}, reconnecting`);
      await this.ready();
    }
    this.#inFlight++;
    return new Promise<T>((resolve, reject) => {
      const deadline: Deadline = {
        done: false,
        at: 0,
        expire: () => {
          this.#inFlight--;
          reject(new RedisTimeoutError(`${name} timed out after ${timeoutMs} ms`, true));
        },
      };
      this.#sweeper.track(deadline, timeoutMs);
      run().then(
        (v) => {
          if (deadline.done) return;
          deadline.done = true;
          this.#inFlight--;
          resolve(v);
        },
        (e: unknown) => {
          if (deadline.done) return;
          deadline.done = true;
          this.#inFlight--;
          reject(mapError(e, name));
        },
      );
    });
  }

  /**
   * Runs `fn` with a connection of its own from a small pool, for blocking commands (BLPOP) and
   * WATCH/MULTI sequences that must not share the multiplexed connection. Standalone only.
   */
  async withConnection<T>(fn: (connection: IsolatedConnection) => Promise<T>): Promise<T> {
    if (this.#backend.kind !== 'standalone') {
      throw invalidArgument('withConnection is available on a standalone connection only');
    }
    const pool = await this.#getPool();
    return pool.execute(async (client) =>
      fn(new IsolatedConnection(client as unknown as StandaloneClient, this)),
    );
  }

  async #getPool(): Promise<RedisClientPoolType> {
    if (this.#pool) return this.#pool;
    const o = this.#options;
    const pool = createClientPool(this.#nodeRedisStandaloneOptions(), {
      minimum: 1,
      maximum: o.poolSize,
      acquireTimeout: o.commandTimeoutMs,
    }) as unknown as RedisClientPoolType;
    pool.on('error', (e: unknown) => this.#onError(e));
    this.#pool = pool;
    await pool.connect();
    return pool;
  }

  /** node-redis options for the pool's connections and subscribers of a standalone client. */
  #nodeRedisStandaloneOptions() {
    const o = this.#options;
    return {
      ...this.#nodeRedisCommon(),
      database: o.db,
      socket: { host: o.host, port: o.port, ...this.#socketOptions() },
    };
  }

  /** @internal deadline wrapper shared with isolated connections. */
  runWithDeadline<T>(name: string, timeoutMs: number | undefined, run: () => Promise<T>): Promise<T> {
    return this.#withDeadline(name, timeoutMs ?? this.#options.commandTimeoutMs, run);
  }

  /**
   * Subscribes to a channel on a connection of its own; `handler` gets each message.
   * Resolves with a function that unsubscribes.
   */
  async subscribe(
    channelName: string,
    handler: (message: string, channel: string) => void,
  ): Promise<() => Promise<void>> {
    if (typeof channelName !== 'string' || channelName === '')
      throw invalidArgument('channel must be a non-empty string');
    if (typeof handler !== 'function') throw invalidArgument('handler must be a function');
    const backend = this.#backend;
    if (backend.kind === 'cluster') {
      const listener = (message: string | Buffer, ch: string | Buffer) =>
        handler(String(message), String(ch));
      await this.#withDeadline('SUBSCRIBE', this.#options.commandTimeoutMs, () =>
        backend.client.subscribe(channelName, listener),
      );
      return async () => {
        await backend.client.unsubscribe(channelName, listener);
      };
    }
    if (backend.kind === 'sentinel') {
      const listener = (message: string | Buffer, ch: string | Buffer) =>
        handler(String(message), String(ch));
      await this.#withDeadline('SUBSCRIBE', this.#options.commandTimeoutMs, () =>
        backend.client.subscribe(channelName, listener),
      );
      return async () => {
        await backend.client.unsubscribe(channelName, listener);
      };
    }
    await this.ready();
    const subscriber = nodeRedisTemplate().duplicate(
      this.#nodeRedisStandaloneOptions(),
    ) as unknown as StandaloneClient;
    subscriber.on('error', (e: unknown) => this.#onError(e));
    // Tracked before it connects, so close() also stops one that is still connecting.
    this.#subscribers.push(subscriber);
    try {
      await this.#withinDeadline(subscriber.connect(), this.#options.connectTimeoutMs, 'SUBSCRIBE');
    } catch (error) {
      const at = this.#subscribers.indexOf(subscriber);
      if (at >= 0) this.#subscribers.splice(at, 1);
      destroyQuietly(subscriber);
      throw mapError(error, 'SUBSCRIBE');
    }
    await subscriber.subscribe(channelName, (message: string | Buffer, ch: string | Buffer) =>
      handler(String(message), String(ch)),
    );
    return async () => {
      const at = this.#subscribers.indexOf(subscriber);
      if (at >= 0) this.#subscribers.splice(at, 1);
      if (subscriber.isOpen) {
        await subscriber.unsubscribe(channelName);
        await subscriber.close();
      }
    };
  }

  /** Publishes a message; resolves with the number of receivers. */
  async publish(channelName: string, message: string): Promise<number> {
    return Number(await this.command(['PUBLISH', channelName, message]));
  }

  /** Re-reads the Cluster's slot map (node-redis only does so on MOVED). No-op elsewhere. */
  async refreshTopology(): Promise<void> {
    if (this.#backend.kind !== 'cluster') return;
    const slots = (
      this.#backend.client as unknown as { _slots?: { rediscover?: (c?: unknown) => Promise<void> } }
    )._slots;
    if (!slots?.rediscover || !this.#isBackendReady()) return;
    const master = this.#backend.client.masters[0]?.client;
    try {
      await slots.rediscover(master);
    } catch (error) {
      this.#lastError = (error as Error)?.message;
    }
  }

  /** State, PING latency, in-flight count, queue depth and last error, for readiness probes. */
  async health(): Promise<RedisHealth> {
    let pingMs: number | undefined;
    if (this.#isBackendReady()) {
      const started = performance.now();
      try {
        await this.command(['PING'], { timeoutMs: Math.min(1000, this.#options.commandTimeoutMs) });
        pingMs = performance.now() - started;
      } catch {
        pingMs = undefined;
      }
    }
    const backendReady = this.#isBackendReady();
    const state: ConnectionState =
      this.#state === 'closing' || this.#state === 'closed'
        ? this.#state
        : backendReady
          ? 'ready'
          : this.#everReady
            ? 'reconnecting'
            : 'connecting';
    return {
      state,
      pingMs,
      inFlight: this.#inFlight,
      queueDepth: this.#sweeper.size,
      lastError: this.#lastError,
      target: this.#target,
    };
  }

  /** Commands sent and not yet settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Stops taking commands, waits up to `timeoutMs` [5000] for in-flight ones to finish, then
   * closes every connection. Idempotent.
   */
  async close({ timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    if (this.#topologyTimer) clearInterval(this.#topologyTimer);
    const until = performance.now() + timeoutMs;
    while (this.#inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    // A graceful close waits for the server's replies; a paused or black-holed server never
    // sends them, so whatever has not closed when the deadline passes is destroyed.
    const left = Math.max(100, until - performance.now());
    const closers: Promise<unknown>[] = [];
    for (const s of this.#subscribers.splice(0)) {
      closers.push(
        s.isOpen ? this.#closeOrDestroy(() => s.close(), s, left) : Promise.resolve(destroyQuietly(s)),
      );
    }
    const pool = this.#pool;
    if (pool) closers.push(this.#closeOrDestroy(() => pool.close(), pool, left));
    const client = this.#backend.client;
    if (client.isOpen && this.#inFlight === 0) {
      closers.push(this.#closeOrDestroy(() => client.close(), client, left));
    } else {
      destroyQuietly(client);
    }
    await Promise.allSettled(closers);
    this.#sweeper.dispose();
    this.#state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Closes gracefully, or destroys once `ms` have passed or the close failed. */
  async #closeOrDestroy(
    close: () => Promise<unknown>,
    target: { destroy(): unknown },
    ms: number,
  ): Promise<void> {
    await this.#withinDeadline(Promise.resolve().then(close), ms, 'CLOSE').catch(() =>
      destroyQuietly(target),
    );
  }

  /** Rejects with a TimeoutError when `promise` has not settled within `ms`. */
  async #withinDeadline<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisTimeoutError(`${name} timed out after ${ms} ms connecting`, false)),
        ms,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** @internal for the primitives: the resolved command timeout. */
  get commandTimeoutMs(): number {
    return this.#options.commandTimeoutMs;
  }

  toString(): string {
    return `RedisClient(${this.#target})`;
  }
}

/**
 * One command in flight: its own deadline entry (no closure per command for the timer) and the
 * resolvers of the promise handed to the caller.
 */
class PendingCommand implements Deadline {
  done = false;
  at = 0;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly owner: RedisClient,
    readonly args: RedisCommand,
    readonly timeoutMs: number,
    /** performance.now() at the start when someone listens to events, else 0. */
    readonly started: number,
    /** Read bulk strings as Buffers (the connection's parser asks). */
    readonly buffers: boolean,
  ) {}

  settle(reply: unknown): void {
    if (this.done) return;
    this.done = true;
    this.owner.finished(this, undefined);
    this.resolve(reply);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    const mapped = mapError(error, commandName(this.args), isReadonlyCommand(this.args));
    this.owner.finished(this, mapped.code);
    this.reject(mapped);
  }

  expire(): void {
    const error = new RedisTimeoutError(
      `${commandName(this.args)} timed out after ${this.timeoutMs} ms`,
      true,
      isReadonlyCommand(this.args),
    );
    this.owner.finished(this, error.code);
    this.owner.expired(this);
    this.reject(error);
  }
}

attachCommands(RedisClient.prototype, (client, name, command, args) =>
  runTyped(client as RedisClient, name, command, args, undefined),
);

let template: StandaloneClient | undefined;

/**
 * A node-redis client that is never connected, only duplicated. `createClient` builds a class
 * with every command on it (about 20 ms, far more on a busy machine) whenever its options differ
 * from the previous call's; `duplicate()` reuses the class. Without this, the first `subscribe()`
 * of each client (a lock manager subscribes on every node) stalled the event loop mid-run.
 */
function nodeRedisTemplate(): StandaloneClient {
  template ??= createClient({
    RESP: 2,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
  }) as unknown as StandaloneClient;
  return template;
}

/**
 * MULTI, the commands and EXEC, queued back to back on the shared connection (nothing else can
 * come between them: they are written in one synchronous run, all or none). A command the server refused to
 * queue aborts the whole transaction (EXECABORT, reported with that command's error); errors of
 * commands that ran are reported with the first of them (the others did run: Redis has no
 * rollback).
 */
async function runTransaction(
  connection: RespConnection,
  commands: readonly RedisCommand[],
  buffers: boolean,
): Promise<unknown> {
  // Admitted as one: a MULTI is never written without its EXEC.
  const queued = connection.sendAll([['MULTI'], ...commands, ['EXEC']], buffers);
  const exec = queued.pop()!;
  for (const q of queued) q.catch(() => {});
  let replies: unknown;
  try {
    replies = await exec;
  } catch (error) {
    if (!(error instanceof ErrorReply)) throw error;
    const results = await Promise.allSettled(queued);
    const at = results.findIndex((r) => r.status === 'rejected');
    if (at < 1) throw error;
    const cause = (results[at] as PromiseRejectedResult).reason as Error;
    throw new ErrorReply(`${error.message} (transaction command ${at - 1}: ${cause.message})`);
  }
  if (Array.isArray(replies)) {
    const at = replies.findIndex((r) => r instanceof ErrorReply);
    if (at >= 0) {
      const first = replies[at] as ErrorReply;
      throw new ErrorReply(`${first.message} (transaction command ${at}; the others ran)`);
    }
  }
  return replies;
}

/** Destroys a node-redis client or pool, ignoring "not open" and similar errors. */
function destroyQuietly(target: { destroy(): unknown }): void {
  try {
    const result = target.destroy();
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // already closed or never opened
  }
}

/** A connection of its own, lent by {@link RedisClient.withConnection}. */
export class IsolatedConnection {
  constructor(
    private readonly client: StandaloneClient,
    private readonly owner: RedisClient,
  ) {}

  /** Sends one command on this connection (BLPOP, WATCH, …) with the same deadline rules. */
  command<T = RedisReply>(args: RedisCommand, options?: CommandOptions): Promise<T> {
    // A connection of its own: SELECT, CLIENT REPLY and the like are the caller's business here.
    validateCommand(args, 'command', false);
    return this.owner.runWithDeadline(
      commandName(args),
      options?.timeoutMs,
      () => this.client.sendCommand(toArgs(args), options?.returnBuffers ? BUFFERS : undefined) as Promise<T>,
    );
  }
}

/** Creates a client for a standalone server, a Cluster or a Sentinel group and starts connecting. */
export function createRedisClient(options: string | RedisClientOptions = {}): RedisClient {
  return new RedisClient(options);
}
