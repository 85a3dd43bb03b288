import { type Backend, createBackend, type DeploymentKind } from './backend.js';
import { probeHealth } from './client-health.js';
import { ClientStatus } from './client-status.js';
import type {
  CommandOptions,
  ConnectionState,
  PipelineResult,
  RedisCommand,
  RedisHealth,
} from './client-types.js';
import { commandChannel, publishCommand } from './command-events.js';
import {
  type CallOptions,
  commandName,
  type RedisArgument,
  type RedisReply,
  readCallOptions,
  validateCommand,
} from './commands.js';
import { type Deadline, DeadlineSweeper } from './deadline.js';
import { invalidArgument, mapError, RedisTimeoutError } from './errors.js';
import { IsolatedConnection } from './isolated-connection.js';
import { batchTrace, commandTrace } from './node-redis-tracing.js';
import { describeTarget, type RedisClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { PendingCommand } from './pending-command.js';
import { attachScanIterators, type ScanIterators } from './scan-iterators.js';
import { sameSlotKey } from './slots.js';
import { execReplies } from './standalone-backend.js';
import { guardedHandler } from './subscribe-guard.js';
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

const noop = (): void => {};

/**
 * Every Redis command as a typed method with node-redis's names, arguments and RESP2 reply
 * types (`get`, `hSet`, `zRangeWithScores`, …), attached below from node-redis's definitions.
 */
export interface RedisClient extends RedisCommandMethods, ScanIterators {}

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
  readonly #status: ClientStatus;
  #inFlight = 0;

  constructor(input: string | RedisClientOptions = {}) {
    this.#options = resolveOptions(input);
    this.#target = describeTarget(this.#options);
    this.#status = new ClientStatus(this.#options, this.#target);
    this.#backend = createBackend(this.#options, this.#status.events);
    this.#status.start(this.#backend);
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
    return this.#status.state;
  }

  /**
   * Resolves once connected. While not connected, waits for the next connection attempt: rejects
   * with `AuthenticationError` (code `AUTH`) when the server refuses the credentials, and with
   * `ConnectionError` (code `CONNECTION`) when the attempt fails or `connectTimeoutMs` passes.
   * The client keeps reconnecting in the background either way.
   */
  ready(): Promise<void> {
    return this.#status.ready();
  }

  /**
   * Sends one command, e.g. `command(['SET', 'k', 'v', 'PX', 1000])`, and resolves with its
   * reply. Rejects with `TimeoutError` (code `TIMEOUT`, `maybeExecuted`) when the deadline
   * passes, `ConnectionError` (code `CONNECTION`) during an outage, `RedisReplyError` for an
   * error reply.
   */
  command<T = RedisReply>(args: RedisCommand, options?: CommandOptions): Promise<T> {
    let call: CallOptions;
    try {
      call = readCallOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#command<T>(args, call, undefined);
  }

  /** command() with its options read; `batchSize`: one of a pipeline of that many (for node-redis's trace context). */
  #command<T>(args: RedisCommand, call: CallOptions, batchSize: number | undefined): Promise<T> {
    let numbers: boolean;
    try {
      numbers = validateCommand(args);
    } catch (error) {
      // Bad input rejects like every other failure, so `.catch()` sees it.
      return Promise.reject(error);
    }
    const timeoutMs = call.timeoutMs ?? this.#options.commandTimeoutMs;
    return this.#traced<T>(args, timeoutMs, numbers, call.buffers, undefined, batchSize);
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
  withTypeMapping<TM extends TypeMapping>(mapping: TM): RedisCommandMethods<TM> & ScanIterators<TM> {
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
    const waited = this.#status.whenReady(commandName(args), timeoutMs);
    return waited.then(() => {
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      return this.#send<T>(args, left, numbers, buffers, routing);
    });
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
    const call = readCallOptions(options);
    // An empty pipeline sends nothing, and node-redis traces nothing for it either.
    const tracing =
      commands.length > 0 && (batchTrace.hasSubscribers || commandTrace.hasSubscribers)
        ? this.#backend.tracing
        : undefined;
    const settled =
      tracing === undefined
        ? await Promise.allSettled(commands.map((c) => this.#command<T>(c, call, undefined)))
        : await tracing.pipeline(commands.length, () =>
            commands.map((c) => this.#command<T>(c, call, commands.length)),
          );
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
    const { buffers, timeoutMs: ms } = readCallOptions(options);
    const routing = this.#backend.checkTransaction(commands, buffers);
    const timeoutMs = ms ?? this.#options.commandTimeoutMs;
    const tracing = batchTrace.hasSubscribers ? this.#backend.tracing : undefined;
    if (tracing === undefined) {
      const run = (deadline: Deadline) =>
        this.#backend.transaction(commands, buffers, routing, false, deadline);
      return this.#withDeadline('EXEC', timeoutMs, run) as Promise<T>;
    }
    // Traced as node-redis traces one on `node-redis:batch`: its outcome is EXEC's replies, with
    // errors of commands that ran among them (node-redis rejects for those after the trace
    // ended); an aborted transaction, a deadline or a lost connection is its error.
    const raw = (deadline: Deadline) =>
      this.#backend.transaction(commands, buffers, undefined, true, deadline);
    const replies = await tracing.batch('MULTI', commands.length, () =>
      this.#withDeadline('EXEC', timeoutMs, raw),
    );
    try {
      return execReplies(replies) as T;
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
    run: (deadline: Deadline) => Promise<T>,
    readonly = false,
  ): Promise<T> {
    if (!this.#backend.isReady) await this.#status.whenReady(name, timeoutMs);
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
        // The sweeper may hold the entry until a sweep passes it; its closure holds `run` (and
        // through it the batch's commands), so it lets go of it here.
        deadline.expire = noop;
        this.#inFlight--;
        fn();
      };
      run(deadline).then(
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
    return this.#backend.withConnection((lent) => fn(new IsolatedConnection(lent, this)));
  }

  /**
   * Subscribes to a channel on a connection of its own; `handler` gets each message.
   * Resolves with a function that unsubscribes.
   */
  async subscribe(
    channelName: string,
    handler: (message: string, channel: string) => void | Promise<void>,
  ): Promise<() => Promise<void>> {
    if (typeof channelName !== 'string' || channelName === '')
      throw invalidArgument('channel must be a non-empty string');
    if (typeof handler !== 'function') throw invalidArgument('handler must be a function');
    if (!this.#backend.isReady) await this.#status.whenReady('SUBSCRIBE', this.#options.commandTimeoutMs);
    return this.#backend.subscribe(channelName, guardedHandler(handler, this.#options.logger));
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
      this.#status.noteError((error as Error)?.message);
    }
  }

  /**
   * State, PING latency, in-flight count, queue depth and last error, for readiness probes, as a
   * `HealthReport`: `up` when a PING answered within a second, `down` otherwise (not connected,
   * a paused or unreachable server, closed). Never throws; answers within about a second.
   */
  health(): Promise<RedisHealth> {
    return probeHealth({
      status: this.#status,
      isReady: () => this.#backend.isReady,
      commandTimeoutMs: this.#options.commandTimeoutMs,
      target: this.#target,
      ping: (timeoutMs) => this.command(['PING'], { timeoutMs }),
      counts: () => ({ inFlight: this.#inFlight, queueDepth: this.#sweeper.size }),
    });
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
    if (this.#status.state === 'closed') return Promise.resolve();
    // A second call while closing waits for the first one.
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  #closing: Promise<void> | undefined;

  async #close(timeoutMs: number): Promise<void> {
    this.#status.beginClose();
    const until = performance.now() + timeoutMs;
    while (this.#inFlight > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    // A graceful close waits for the server's replies; a paused or black-holed server never
    // sends them, so whatever has not closed when the deadline passes is destroyed.
    try {
      await this.#backend.close(Math.max(100, until - performance.now()), this.#inFlight === 0);
    } finally {
      this.#sweeper.dispose();
      this.#status.closed();
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

attachScanIterators(RedisClient.prototype, (client) => (client as RedisClient).deployment === 'cluster');
attachCommands(RedisClient.prototype, (client, name, command, args) =>
  runTyped(client as RedisClient, name, command, args, undefined),
);

/** Creates a client for a standalone server, a Cluster or a Sentinel group and starts connecting. */
export function createRedisClient(options: string | RedisClientOptions = {}): RedisClient {
  return new RedisClient(options);
}
