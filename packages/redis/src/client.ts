import { HEALTH_TIMEOUT_MS, type HealthError, healthError, redactHealthMessage } from '@voelgoed/contracts';
import { type Backend, createBackend, type DeploymentKind } from './backend.js';
import type {
  CommandOptions,
  ConnectionState,
  PipelineResult,
  RedisCommand,
  RedisHealth,
} from './client-types.js';
import { commandChannel, publishCommand } from './command-events.js';
import { commandName, type RedisArgument, type RedisReply, validateCommand } from './commands.js';
import { ConnectionLog } from './connection-log.js';
import { ConnectionWaiters } from './connection-waiters.js';
import { type Deadline, DeadlineSweeper } from './deadline.js';
import { connectionError, invalidArgument, mapError, RedisTimeoutError } from './errors.js';
import { IsolatedConnection } from './isolated-connection.js';
import { batchTrace, commandTrace, type NodeRedisTracing } from './node-redis-tracing.js';
import { describeTarget, type RedisClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { PendingCommand } from './pending-command.js';
import { sameSlotKey } from './slots.js';
import { execReplies } from './standalone-backend.js';
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

/**
 * Every Redis command as a typed method with node-redis's names, arguments and RESP2 reply
 * types (`get`, `hSet`, `zRangeWithScores`, …), attached below from node-redis's definitions.
 */
export interface RedisClient extends RedisCommandMethods {}

/**
 * A Redis client for standalone servers, Cluster and Sentinel, with a real deadline per command,
 * fast failure during outages, per-command pipeline results and telemetry. It validates, keeps
 * deadlines and publishes events; the deployment's connections are its {@link Backend}'s.
 * Create it with {@link createRedisClient}.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the typed methods are attached to the prototype at load time
export class RedisClient {
  readonly #options: ResolvedOptions;
  readonly #backend: Backend;
  readonly #sweeper = new DeadlineSweeper(10);
  readonly #target: string;
  #state: ConnectionState = 'connecting';
  #everReady = false;
  /** The first connection: resolves once, or rejects when the backend gave up. */
  readonly #ready: Promise<void>;
  #inFlight = 0;
  readonly #waiters = new ConnectionWaiters();
  #lastError: string | undefined;
  readonly #log: ConnectionLog;

  constructor(input: string | RedisClientOptions = {}) {
    this.#options = resolveOptions(input);
    this.#target = describeTarget(this.#options);
    this.#log = new ConnectionLog(this.#options.logger, this.#target);
    this.#backend = createBackend(this.#options, {
      onError: (e) => this.#onError(e),
      onReady: () => this.#markReady(),
      onReconnecting: () => {
        if (this.#state === 'ready') this.#state = 'reconnecting';
      },
      onEnd: () => {
        if (this.#state !== 'closing' && this.#state !== 'closed') this.#log.gaveUp();
        if (this.#state !== 'closing') this.#state = 'closed';
      },
      closing: () => this.#state === 'closing' || this.#state === 'closed',
    });
    this.#ready = this.#connect();
    // A failed first connect is reported to callers through ready() and their commands.
    this.#ready.catch(() => {});
  }

  /** `host:port`, `cluster(…)` or `sentinel(name)`: never credentials. */
  get target(): string {
    return this.#target;
  }

  /** Which kind of deployment this client talks to. */
  get deployment(): DeploymentKind {
    return this.#backend.kind;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  #onError(error: unknown): void {
    this.#lastError = (error as { message?: string })?.message ?? String(error);
    if (!this.#backend.isReady && this.#state !== 'closing' && this.#state !== 'closed')
      this.#log.error(error);
    // A failed attempt fails those waiting for a connection at once (wrong password, nothing
    // listening) instead of letting them run into their deadline.
    if (!this.#backend.isReady) this.#waiters.fail(error, this.#everReady);
    if (this.#state === 'ready' && !this.#backend.isReady) this.#state = 'reconnecting';
  }

  #markReady(): void {
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#log.ready();
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#state = 'ready';
    this.#everReady = true;
    this.#waiters.ready();
  }

  async #connect(): Promise<void> {
    try {
      await this.#backend.connect();
    } catch (error) {
      this.#onError(error);
      throw connectionError(`cannot connect to ${this.#target}`, error);
    }
    this.#markReady();
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
    if (this.#backend.isReady) return Promise.resolve();
    return this.#waiters.next(`cannot connect to ${this.#target}`, this.#options.connectTimeoutMs, () =>
      this.#lastError ? ` (last error: ${this.#lastError})` : '',
    );
  }

  /**
   * Sends one command, e.g. `command(['SET', 'k', 'v', 'PX', 1000])`, and resolves with its
   * reply. Rejects with `TimeoutError` (code `TIMEOUT`, `maybeExecuted`) when the deadline
   * passes, `ConnectionError` (code `CONNECTION`) during an outage, `RedisReplyError` for an
   * error reply.
   */
  command<T = RedisReply>(args: RedisCommand, options?: CommandOptions): Promise<T> {
    return this.#command<T>(args, options, undefined);
  }

  /** command(); `batchSize`: one of a pipeline of that many (for node-redis's trace context). */
  #command<T>(
    args: RedisCommand,
    options: CommandOptions | undefined,
    batchSize: number | undefined,
  ): Promise<T> {
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
    return this.#traced<T>(args, timeoutMs, numbers, options?.returnBuffers === true, undefined, batchSize);
  }

  /**
   * @internal A command parsed by node-redis's parser (the typed methods): routed in a Cluster
   * by the key the parser found, not by position.
   */
  sendParsed(args: RedisCommand, firstKey: RedisArgument | undefined, buffers: boolean): Promise<unknown> {
    let numbers: boolean;
    try {
      numbers = validateCommand(args);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#traced(args, this.#options.commandTimeoutMs, numbers, buffers, firstKey, undefined);
  }

  /**
   * {@link #dispatch}, published on node-redis's `node-redis:command` when someone subscribes and
   * the backend is our own connection (node-redis-tracing.ts); `batchSize` for a pipeline's command.
   */
  #traced<T>(
    args: RedisCommand,
    timeoutMs: number,
    numbers: boolean,
    buffers: boolean,
    routing: RedisArgument | undefined,
    batchSize: number | undefined,
  ): Promise<T> {
    const tracing = commandTrace.hasSubscribers ? this.#backend.tracing : undefined;
    if (tracing === undefined) return this.#dispatch<T>(args, timeoutMs, numbers, buffers, routing);
    return tracing.command(args, batchSize, () =>
      this.#dispatch<T>(args, timeoutMs, numbers, buffers, routing),
    );
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
    // Cast, not inferred: relating two generic RedisMulti types makes TypeScript expand all 817
    // methods recursively (it ran out of memory).
    const mapping = typeMapping === undefined ? undefined : checkTypeMapping(typeMapping);
    return createMulti(this, mapping) as RedisMulti<[], TM>;
  }

  #validateTimeout(timeoutMs: number): void {
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw invalidArgument('timeoutMs must be a finite number > 0');
    }
  }

  /** Sends now when connected, else waits for the first connection or fails fast after an outage. */
  #dispatch<T>(
    args: RedisCommand,
    timeoutMs: number,
    numbers: boolean,
    buffers: boolean,
    routing: RedisArgument | undefined,
  ): Promise<T> {
    if (this.#backend.isReady) return this.#send<T>(args, timeoutMs, numbers, buffers, routing);
    const started = performance.now();
    return this.#whenReady(commandName(args), timeoutMs).then(() =>
      this.#send<T>(args, Math.max(1, timeoutMs - (performance.now() - started)), numbers, buffers, routing),
    );
  }

  /** Not connected: wait for the first connection (within the deadline), or fail fast after an outage. */
  async #whenReady(name: string, timeoutMs: number): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw connectionError(`${name} failed: the client is closed`);
    }
    if (this.#everReady) {
      const detail = this.#lastError ? ` (last error: ${this.#lastError})` : '';
      throw connectionError(`${name} failed: not connected to ${this.#target}, reconnecting${detail}`);
    }
    await this.#waiters.first(
      this.#ready,
      `${name} failed: cannot connect to ${this.#target}`,
      timeoutMs,
      () => new RedisTimeoutError(`${name} timed out after ${timeoutMs} ms waiting to connect`, false),
    );
  }

  #send<T>(
    args: RedisCommand,
    timeoutMs: number,
    numbers: boolean,
    buffers: boolean,
    routing: RedisArgument | undefined,
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
    this.#backend.send(args, pending, routing, numbers);
    return promise;
  }

  /** @internal called by PendingCommand when it settles or expires. */
  finished(pending: PendingCommand, errorCode: string | undefined): void {
    this.#inFlight--;
    if (pending.started) publishCommand(pending.args, this.#target, pending.started, errorCode);
  }

  /** @internal called by PendingCommand when its deadline passed. */
  expired(pending: PendingCommand): void {
    // `at` is the deadline on the sweeper's clock, read at or before the command was written.
    this.#backend.expired(pending.at - pending.timeoutMs, pending.timeoutMs);
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
    // An empty pipeline sends nothing, and node-redis traces nothing for it either.
    const tracing =
      commands.length > 0 && (batchTrace.hasSubscribers || commandTrace.hasSubscribers)
        ? this.#backend.tracing
        : undefined;
    const settled =
      tracing === undefined
        ? await Promise.allSettled(commands.map((c) => this.command<T>(c, options)))
        : await this.#tracedPipeline<T>(tracing, commands, options);
    return settled.map((s) =>
      s.status === 'fulfilled'
        ? { ok: true as const, value: s.value }
        : { ok: false as const, error: mapError(s.reason, 'PIPELINE') },
    );
  }

  /**
   * A pipeline as node-redis traces one: `node-redis:batch` around it, whose outcome is the first
   * failed command's error (node-redis's execAsPipeline rejects with it), and each command on
   * `node-redis:command` inside it, with `batchMode` and `batchSize`.
   */
  async #tracedPipeline<T>(
    tracing: NodeRedisTracing,
    commands: readonly RedisCommand[],
    options: CommandOptions | undefined,
  ): Promise<PromiseSettledResult<T>[]> {
    const size = commands.length;
    let sent: Promise<T>[] = [];
    const batch = tracing.batch('PIPELINE', size, () => {
      sent = commands.map((c) => this.#command<T>(c, options, size));
      return Promise.all(sent);
    });
    // Handled at once (an early failure must not be unhandled); awaited last, so the batch's
    // asyncEnd comes before the caller continues, as with node-redis.
    const batchDone = batch.then(
      () => {},
      () => {},
    );
    const settled = await Promise.allSettled(sent);
    await batchDone;
    return settled;
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
    const buffers = options?.returnBuffers === true;
    const routing = this.#backend.checkTransaction(commands, buffers);
    const timeoutMs = options?.timeoutMs ?? this.#options.commandTimeoutMs;
    if (batchTrace.hasSubscribers) {
      const tracing = this.#backend.tracing;
      if (tracing !== undefined)
        return this.#tracedTransaction(tracing, commands, buffers, timeoutMs) as Promise<T>;
    }
    return this.#withDeadline('EXEC', timeoutMs, () =>
      this.#backend.transaction(commands, buffers, routing),
    ) as Promise<T>;
  }

  /**
   * A transaction as node-redis traces one on `node-redis:batch`: its outcome is EXEC's replies,
   * errors of commands that ran among them (node-redis rejects for those after the trace ended);
   * an aborted transaction, a deadline or a lost connection is its error.
   */
  async #tracedTransaction(
    tracing: NodeRedisTracing,
    commands: readonly RedisCommand[],
    buffers: boolean,
    timeoutMs: number,
  ): Promise<unknown> {
    const replies = await tracing.batch('MULTI', commands.length, () =>
      this.#withDeadline('EXEC', timeoutMs, () =>
        this.#backend.transaction(commands, buffers, undefined, true),
      ),
    );
    try {
      return execReplies(replies);
    } catch (error) {
      throw mapError(error, 'EXEC');
    }
  }

  /**
   * Throws `INVALID_ARGUMENT` (reply `CROSSSLOT`) when the commands' keys are not all in one
   * Cluster slot; returns a key to route by. Only the routing key of each command is checked.
   */
  assertSameSlot(commands: readonly RedisCommand[]): RedisArgument | undefined {
    return sameSlotKey(commands);
  }

  async #withDeadline<T>(
    name: string,
    timeoutMs: number,
    run: () => Promise<T>,
    readonly = false,
  ): Promise<T> {
    if (!this.#backend.isReady) await this.#whenReady(name, timeoutMs);
    this.#inFlight++;
    return new Promise<T>((resolve, reject) => {
      const deadline: Deadline = {
        done: false,
        at: 0,
        expire: () => {
          this.#inFlight--;
          reject(new RedisTimeoutError(`${name} timed out after ${timeoutMs} ms`, true, readonly));
        },
      };
      this.#sweeper.track(deadline, timeoutMs);
      const settle = (fn: () => void) => {
        if (deadline.done) return;
        deadline.done = true;
        this.#inFlight--;
        fn();
      };
      run().then(
        (v) => settle(() => resolve(v)),
        (e: unknown) => settle(() => reject(mapError(e, name, readonly))),
      );
    });
  }

  /** @internal deadline wrapper shared with isolated connections. */
  runWithDeadline<T>(
    name: string,
    timeoutMs: number | undefined,
    run: () => Promise<T>,
    readonly = false,
  ): Promise<T> {
    return this.#withDeadline(name, timeoutMs ?? this.#options.commandTimeoutMs, run, readonly);
  }

  /**
   * Runs `fn` with a connection of its own from a small pool, for blocking commands (BLPOP) and
   * WATCH/MULTI sequences that must not share the multiplexed connection. Standalone only.
   */
  async withConnection<T>(fn: (connection: IsolatedConnection) => Promise<T>): Promise<T> {
    return this.#backend.withConnection((client) => fn(new IsolatedConnection(client, this)));
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
    if (!this.#backend.isReady) await this.#whenReady('SUBSCRIBE', this.#options.commandTimeoutMs);
    return this.#backend.subscribe(channelName, handler);
  }

  /** Publishes a message; resolves with the number of receivers. */
  async publish(channelName: string, message: string): Promise<number> {
    return Number(await this.command(['PUBLISH', channelName, message]));
  }

  /** Re-reads the Cluster's slot map (node-redis only does so on MOVED). No-op elsewhere. */
  async refreshTopology(): Promise<void> {
    try {
      await this.#backend.refreshTopology();
    } catch (error) {
      this.#lastError = (error as Error)?.message;
    }
  }

  /**
   * State, PING latency, in-flight count, queue depth and last error, for readiness probes, as a
   * `HealthReport`: `up` when a PING answered within a second, `down` otherwise (not connected,
   * a paused or unreachable server, closed). Never throws; answers within about a second.
   */
  async health(): Promise<RedisHealth> {
    let pingMs: number | undefined;
    let error: HealthError | undefined;
    const closing = this.#state === 'closing' || this.#state === 'closed';
    if (!closing) {
      // Not ready yet (connecting, reconnecting): the PING waits for the connection, within the bound.
      const started = performance.now();
      const timeoutMs = Math.min(HEALTH_TIMEOUT_MS, this.#options.commandTimeoutMs);
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        // The command's own deadline should fire; the race only makes sure nothing else can hold it up.
        await Promise.race([
          this.command(['PING'], { timeoutMs }),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new RedisTimeoutError(`PING took longer than ${timeoutMs} ms`, true, true)),
              timeoutMs + 100,
            );
          }),
        ]);
        pingMs = performance.now() - started;
      } catch (e) {
        pingMs = undefined;
        error = healthError(e, 'TIMEOUT');
      } finally {
        clearTimeout(timer);
      }
    }
    const closed = this.#state === 'closing' || this.#state === 'closed';
    const connected = this.#backend.isReady ? 'ready' : this.#everReady ? 'reconnecting' : 'connecting';
    const state = closed ? this.#state : connected;
    if (pingMs === undefined && error === undefined) {
      error = closed
        ? { code: 'CLOSED', message: 'the client is closed' }
        : {
            code: 'CONNECTION',
            message: redactHealthMessage(
              `not connected (${state})${this.#lastError ? `: ${this.#lastError}` : ''}`,
            ),
          };
    }
    return {
      status: pingMs === undefined ? 'down' : 'up',
      resource: 'redis',
      ...(pingMs === undefined ? {} : { latencyMs: Math.round(pingMs * 100) / 100 }),
      ...(error === undefined ? {} : { error }),
      state,
      pingMs,
      inFlight: this.#inFlight,
      queueDepth: this.#sweeper.size,
      lastError: this.#lastError === undefined ? undefined : redactHealthMessage(this.#lastError),
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
  close({ timeoutMs = 5000 }: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    // A second call while closing waits for the first one.
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  #closing: Promise<void> | undefined;

  async #close(timeoutMs: number): Promise<void> {
    this.#state = 'closing';
    const until = performance.now() + timeoutMs;
    while (this.#inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    // A graceful close waits for the server's replies; a paused or black-holed server never
    // sends them, so whatever has not closed when the deadline passes is destroyed.
    try {
      await this.#backend.close(Math.max(100, until - performance.now()), this.#inFlight === 0);
    } finally {
      this.#sweeper.dispose();
      this.#state = 'closed';
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal for the primitives: the resolved command timeout. */
  get commandTimeoutMs(): number {
    return this.#options.commandTimeoutMs;
  }

  toString(): string {
    return `RedisClient(${this.#target})`;
  }
}

attachCommands(RedisClient.prototype, (client, name, command, args) =>
  runTyped(client as RedisClient, name, command, args, undefined),
);

/** Creates a client for a standalone server, a Cluster or a Sentinel group and starts connecting. */
export function createRedisClient(options: string | RedisClientOptions = {}): RedisClient {
  return new RedisClient(options);
}
