/**
 * The shared, multiplexed connection of a standalone client: RESP2 over one socket, replies
 * matched to commands in order.
 *
 * Why not node-redis here: node-redis writes everything queued in a tick as one batch and then
 * waits, so at high concurrency client and server take turns (one works while the other idles).
 * This connection writes a batch as soon as it holds {@link FLUSH_COMMANDS} commands (and the
 * rest at the end of the tick), so the server starts on the head of a burst while the client is
 * still producing its tail. Order is kept: one socket, written in call order. It also settles
 * each command's own entry directly, without a promise and a queue node of node-redis's own
 * under ours. Cluster, Sentinel, the pool and pub/sub stay on node-redis.
 */
import net from 'node:net';
import tls, { type ConnectionOptions as TlsOptions } from 'node:tls';
import type { RedisArgument } from './commands.js';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionLostError,
  ConnectionTimeoutError,
  WriteBufferFullError,
} from './connection-errors.js';
import { HandlerQueue } from './handler-queue.js';
import { ReplyParser } from './reply-parser.js';
import { CommandEncoder, ErrorReply, ProtocolError } from './resp.js';

/** A batch is written once it holds this many commands, without waiting for the tick to end. */
export const FLUSH_COMMANDS = 32;
/** …or this many characters/bytes. */
export const FLUSH_BYTES = 64 * 1024;
/**
 * Commands are refused (CONNECTION) while more than this much is written but not taken by the
 * server (a paused or stuck server): they would only time out, and memory would grow with them.
 */
export const MAX_UNSENT_BYTES = 32 * 1024 * 1024;
/**
 * A command with at least this deadline that times out with nothing at all read from the socket
 * since it was sent marks the connection as dead (half-open: a dropped NAT entry, a failover
 * without a reset), and it is replaced at once instead of after minutes of TCP keep-alive.
 * Shorter deadlines say too little to drop a connection shared by everyone.
 */
export const DEAD_AFTER_MS = 1000;

/** Whoever waits for a reply: settled exactly once by the connection. */
export interface ReplyHandler {
  /** Read the reply's bulk strings as Buffers (default: UTF-8 strings). */
  readonly buffers?: boolean;
  settle(reply: unknown): void;
  fail(error: unknown): void;
}

export interface RespConnectionOptions {
  host: string;
  port: number;
  tls: TlsOptions | undefined;
  username: string | undefined;
  password: string | undefined;
  db: number;
  clientName: string | undefined;
  connectTimeoutMs: number;
  /** Delay before reconnect attempt `retries` (0-based), or false to give up. */
  reconnectStrategy(retries: number): number | false;
  onError(error: Error): void;
  /** Ready (also after a reconnect); `createTimeMs`: from opening the socket to ready. */
  onReady(createTimeMs: number): void;
  onReconnecting(): void;
  onEnd(): void;
  /**
   * A ready connection broke (`error`), or close()/destroy() ended the connection
   * (`application_close`; `wasConnected`: it was ready then). Not told when it gave up.
   */
  onClosed?(reason: 'error' | 'application_close', wasConnected: boolean): void;
}

type State = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

export class RespConnection {
  readonly #o: RespConnectionOptions;
  #state: State = 'idle';
  #socket: net.Socket | undefined;
  readonly #encoder = new CommandEncoder();
  /** Commands in the encoder, not yet handed to the socket (the newest entries of the queue). */
  #batched = 0;
  #flushScheduled = false;
  readonly #queue = new HandlerQueue();
  readonly #parser: ReplyParser;
  #retries = 0;
  /** performance.now() of the last read from the socket. */
  #lastReadAt = 0;
  #deadCheck = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #connected: { resolve(): void; reject(error: unknown): void; promise: Promise<void> } | undefined;
  #closed: Promise<void> | undefined;
  /** close() began on a ready connection. */
  #closingReady = false;
  readonly #flush = () => this.#flushBatch();

  constructor(options: RespConnectionOptions) {
    this.#o = options;
    this.#parser = new ReplyParser(
      (reply) => this.#onReply(reply),
      () => this.#queue.peek()?.buffers === true,
    );
  }

  /** Connected and past the handshake: commands may be written. */
  get isReady(): boolean {
    return this.#state === 'ready';
  }

  /** Connected, connecting or reconnecting: not closed. */
  get isOpen(): boolean {
    return this.#state !== 'idle' && this.#state !== 'closed';
  }

  /**
   * Connects, retrying as the reconnect strategy says (each failed attempt is reported through
   * `onError`); resolves once the first connection is ready.
   */
  connect(): Promise<void> {
    if (this.#connected) return this.#connected.promise;
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#connected = { resolve, reject, promise };
    this.#state = 'connecting';
    this.#attempt();
    return promise;
  }

  /** Queues one command; `handler` gets its reply. Only while `isReady`. */
  write(args: readonly RedisArgument[], handler: ReplyHandler): void {
    const refusal = this.#refusal();
    if (refusal) handler.fail(refusal);
    else this.#enqueue(args, handler);
  }

  /**
   * Queues several commands back to back, admitted as one: all are written, or all fail (offline,
   * unsent bytes past the bound), so a MULTI is never left open without its EXEC. One promise
   * per command, each rejecting with ErrorReply for an error reply.
   */
  sendAll(commands: readonly (readonly RedisArgument[])[], buffers = false): Promise<unknown>[] {
    const refusal = this.#refusal();
    if (refusal) return commands.map(() => Promise.reject(refusal));
    return commands.map((args) => this.#request(args, buffers));
  }

  /** Why a command cannot be written now, or undefined when it can. */
  #refusal(): Error | undefined {
    const socket = this.#socket;
    // 'ready' has a socket, except while #lose() fails what was in flight: offline then too.
    if (this.#state !== 'ready' || socket === undefined) {
      return this.#state === 'closed' || this.#state === 'closing'
        ? new ClientClosedError()
        : new ClientOfflineError();
    }
    const unsent = socket.writableLength;
    return unsent > MAX_UNSENT_BYTES ? new WriteBufferFullError(unsent) : undefined;
  }

  /**
   * Told when a command's deadline passed; `sentAfter` is a performance.now() from before it was
   * written. When nothing was read since then (and the deadline was long enough to mean
   * something), the connection is presumed dead and replaced: what is in flight fails with
   * CONNECTION. Checked again after the next poll phase, so a client whose own event loop
   * stalled (its replies waiting, unread, in the socket) does not drop a healthy connection.
   */
  suspectDead(sentAfter: number, timeoutMs: number): void {
    if (this.#state !== 'ready' || timeoutMs < DEAD_AFTER_MS || this.#deadCheck) return;
    if (this.#lastReadAt > sentAfter) return;
    const socket = this.#socket;
    this.#deadCheck = true;
    setImmediate(() => {
      this.#deadCheck = false;
      if (this.#socket !== socket || this.#state !== 'ready' || this.#lastReadAt > sentAfter) return;
      this.#lose(
        new ConnectionLostError(
          `nothing read for ${Math.round(timeoutMs)} ms while a command waited: connection presumed dead, reconnecting`,
        ),
      );
    });
  }

  /** Sends one command and resolves with its reply (rejects with ErrorReply for an error reply). */
  sendCommand(args: readonly RedisArgument[]): Promise<unknown> {
    return new Promise((resolve, reject) => this.write(args, { settle: resolve, fail: reject }));
  }

  /** Queues one command without the admission check (handshake, sendAll). */
  #request(args: readonly RedisArgument[], buffers = false): Promise<unknown> {
    return new Promise((resolve, reject) => this.#enqueue(args, { buffers, settle: resolve, fail: reject }));
  }

  #enqueue(args: readonly RedisArgument[], handler: ReplyHandler): void {
    this.#encoder.append(args);
    this.#queue.push(handler);
    if (++this.#batched >= FLUSH_COMMANDS || this.#encoder.size >= FLUSH_BYTES) {
      this.#flushBatch();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#flush);
    }
  }

  /** Writes whatever is queued. */
  #flushBatch(): void {
    this.#flushScheduled = false;
    this.#batched = 0;
    if (this.#encoder.empty) return;
    const data = this.#encoder.take();
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    if (typeof data === 'string') {
      socket.write(data);
      return;
    }
    socket.cork();
    for (const chunk of data) socket.write(chunk);
    socket.uncork();
  }

  #onReply(reply: unknown): void {
    const handler = this.#queue.shift();
    // Thrown out of the parser's loop: the data handler then drops the connection once.
    if (!handler) throw new ProtocolError('the server sent a reply nobody asked for');
    if (reply instanceof ErrorReply) handler.fail(reply);
    else handler.settle(reply);
  }

  /**
   * One connection attempt: opens the socket, sends the handshake once connected, and ends
   * ready, or failed (reported, then retried or given up) at the first error, close or the
   * connect timeout.
   */
  #attempt(): void {
    const o = this.#o;
    const attemptStarted = performance.now();
    const socket = this.#openSocket();
    if (socket === undefined) return;
    this.#socket = socket;
    this.#parser.reset();
    let settled = false;
    const timer = setTimeout(() => fail(new ConnectionTimeoutError(o.connectTimeoutMs)), o.connectTimeoutMs);
    /** This attempt failed before it was ready: what the handshake queued goes with it. */
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      this.#failQueued(new ConnectionLostError(error.message, { cause: error }));
      this.#failedAttempt(error);
    };
    /** The handshake went through: the connection is ready (unless the attempt ended meanwhile). */
    const succeed = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#becomeReady(socket, attemptStarted);
    };
    /** This socket broke: before it was ready, the attempt failed; after, the connection is lost. */
    const drop = (error: Error) => {
      if (!settled) fail(error);
      else if (this.#socket === socket) this.#lose(error);
    };
    this.#listen(socket, drop, () => settled);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => {
      void this.#handshake().then(succeed, (error: unknown) => fail(error as Error));
    });
  }

  /** A new socket to the server (TLS when configured); undefined when it could not even be created (reported). */
  #openSocket(): net.Socket | undefined {
    const o = this.#o;
    const options = {
      host: o.host,
      port: o.port,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 5000,
    };
    try {
      return o.tls
        ? tls.connect({ ...options, ...(net.isIP(o.host) ? {} : { servername: o.host }), ...o.tls })
        : net.connect(options);
    } catch (error) {
      this.#failedAttempt(error as Error);
      return undefined;
    }
  }

  /**
   * Reads replies from `socket` while it is the connection's; its errors and its close go to
   * `drop` (`settled()`: the attempt is over, so a close is the server's doing).
   */
  #listen(socket: net.Socket, drop: (error: Error) => void, settled: () => boolean): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      this.#lastReadAt = performance.now();
      try {
        this.#parser.feed(chunk);
      } catch (error) {
        drop(error as Error);
      }
    });
    socket.on('error', drop);
    socket.on('close', () =>
      drop(
        new ConnectionLostError(
          settled() ? 'connection closed by the server' : 'connection closed while connecting',
        ),
      ),
    );
  }

  /** The handshake on `socket` went through: ready, unless close() came meanwhile. */
  #becomeReady(socket: net.Socket, attemptStarted: number): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      socket.destroy();
      return;
    }
    this.#retries = 0;
    this.#state = 'ready';
    this.#connected?.resolve();
    this.#o.onReady(performance.now() - attemptStarted);
  }

  /** AUTH, SELECT and CLIENT SETNAME, pipelined, before anyone else may write. */
  async #handshake(): Promise<void> {
    const o = this.#o;
    const steps: Promise<unknown>[] = [];
    const send = (args: RedisArgument[]) => steps.push(this.#request(args));
    if (o.password !== undefined)
      send(o.username === undefined ? ['AUTH', o.password] : ['AUTH', o.username, o.password]);
    if (o.db !== 0) send(['SELECT', o.db]);
    if (o.clientName !== undefined) send(['CLIENT', 'SETNAME', o.clientName]);
    if (steps.length === 0) return;
    this.#flushBatch();
    const results = await Promise.allSettled(steps);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** A connection attempt failed: report it, then retry or give up. */
  #failedAttempt(error: Error): void {
    this.#socket = undefined;
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#o.onError(error);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = this.#o.reconnectStrategy(this.#retries++);
    if (delay === false) {
      this.#end(new ClientClosedError('gave up reconnecting'));
      return;
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === 'closing' || this.#state === 'closed') return;
      this.#o.onReconnecting();
      this.#attempt();
    }, delay);
  }

  /** An established connection broke: fail what is in flight and reconnect. */
  #lose(error: Error): void {
    if (this.#state === 'ready') this.#o.onClosed?.('error', true);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
    const lost =
      error instanceof ConnectionLostError ? error : new ConnectionLostError(error.message, { cause: error });
    this.#failQueued(lost);
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'reconnecting';
    this.#o.onError(error);
    this.#o.onReconnecting();
    this.#scheduleReconnect();
  }

  /**
   * Fails every command waiting for a reply. Those already handed to the socket may have run on
   * the server and get a `maybeExecuted` error; those still in the encoder were never sent.
   */
  #failQueued(error: Error): void {
    const unsent = this.#batched;
    this.#batched = 0;
    if (!this.#encoder.empty) this.#encoder.take();
    this.#parser.reset();
    const handlers = this.#queue.drain();
    const sent = handlers.length - unsent;
    const lost =
      sent > 0
        ? new ConnectionLostError(`${error.message}; the server may have run the command`, {
            cause: error,
            maybeExecuted: true,
          })
        : error;
    for (const [i, handler] of handlers.entries()) handler.fail(i < sent ? lost : error);
  }

  /** `byApplication`: close() or destroy() (not giving up). */
  #end(error: Error, byApplication = false): void {
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
    this.#failQueued(error);
    const wasOpen = this.#state !== 'closed';
    const wasConnected = this.#state === 'ready' || this.#closingReady;
    this.#state = 'closed';
    this.#connected?.reject(error);
    this.#connected?.promise.catch(() => {});
    if (wasOpen && byApplication) this.#o.onClosed?.('application_close', wasConnected);
    if (wasOpen) this.#o.onEnd();
  }

  /** Waits for the replies in flight, then closes the socket. */
  close(): Promise<void> {
    this.#closed ??= this.#closeGracefully();
    return this.#closed;
  }

  async #closeGracefully(): Promise<void> {
    const socket = this.#socket;
    if (this.#state !== 'ready' || !socket) {
      this.#end(new ClientClosedError(), true);
      return;
    }
    this.#state = 'closing';
    this.#closingReady = true;
    if (this.#queue.size > 0) {
      // Replies come in order: once this PING is answered, everything before it is.
      await new Promise<void>((resolve) => {
        this.#enqueue(['PING'], { settle: () => resolve(), fail: () => resolve() });
        this.#flushBatch();
      });
    }
    if (!socket.destroyed) {
      // Nothing is in flight now: once our FIN is out, the socket goes. Waiting for the server's
      // FIN as well would wait out the whole close deadline for a paused server (the kernel
      // acknowledges, the process never answers).
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end(() => socket.destroy());
      });
    }
    this.#end(new ClientClosedError(), true);
  }

  /** Closes at once; what is in flight fails with ClientClosedError. */
  destroy(): void {
    this.#end(new ClientClosedError(), true);
  }
}
