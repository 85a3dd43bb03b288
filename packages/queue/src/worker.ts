import {
  AbortedError,
  type JobDelivery,
  type JobHandler,
  type JobWorker,
  type JobWorkerCloseOptions,
  LockLostError,
  type Logger,
  type QueueProcessTrace,
  TimeoutError,
  TraceChannels,
  traceChannel,
  traced,
} from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import { MESSAGE_PREFIX } from './errors.js';
import { codeOf, publishJobEvent } from './events.js';
import { backoffMs, decodePayload, describeFailure, fields, MAX_DELAY_MS, numberIn } from './input.js';
import type { QueueKeys } from './keys.js';
import type { FetchPermits } from './rate-limit.js';
import { failScript, fetchScript, releaseScript, renewScript } from './scripts.js';
import type { Waker } from './waker.js';

/** What a worker needs of its queue. */
export interface WorkerContext {
  readonly name: string;
  readonly redis: RedisClient;
  readonly keys: QueueKeys;
  readonly leaseMs: number;
  readonly retentionMs: number;
  readonly waker: Waker;
  /** The queue's rate limit, when it has one. */
  readonly permits?: FetchPermits | undefined;
  /** Where dead letters, lost leases, handler failures and an exceeded close grace are logged. */
  readonly logger: Logger;
}

/** Longest idle wait between fetches when nothing is due (a missed wake-up costs at most this). */
const IDLE_CAP_MS = 5_000;

interface FetchedJob {
  id: string;
  token: number;
  failures: number;
  maxAttempts: number;
  enqueuedAt: number;
  kind: string;
  payload: Buffer;
  backoff: string;
  timeoutMs: number | undefined;
  /** The producer's trace carrier (JSON), '' when its enqueue was not traced. */
  carrier: string;
}

type Outcome = NonNullable<QueueProcessTrace['outcome']>;

interface Running {
  readonly job: FetchedJob;
  readonly controller: AbortController;
  /** Local deadline of the lease: set from the send time of the command that set it, so never later than the server's. */
  leaseUntil: number;
  /** The lease is gone (lost, or handed back): the outcome is not acknowledged. */
  gone: boolean;
  /** The handler is done and its outcome is on the way: renewals leave the delivery alone. */
  acking: boolean;
  readonly attempt: number;
  durationMs: number;
  /** Set when the completion was acknowledged (for the trace). */
  outcome: Outcome | undefined;
  /** Settles a completion waiting in the worker's batch. */
  acked: (() => void) | undefined;
  /** Settles (never rejects) when the delivery is done. */
  finished: Promise<unknown>;
}

const text = (b: unknown) => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b ?? ''));

/** The jobs of a fetch reply, 10 fields each from index `from`. */
function parseJobs(reply: unknown[], from: number): FetchedJob[] {
  const jobs: FetchedJob[] = [];
  for (let i = from; i + 9 < reply.length; i += 10) {
    const timeout = text(reply[i + 8]);
    jobs.push({
      id: text(reply[i]),
      token: Number(reply[i + 1]),
      failures: Number(text(reply[i + 2])),
      maxAttempts: Number(text(reply[i + 3])),
      enqueuedAt: Number(text(reply[i + 4])),
      kind: text(reply[i + 5]),
      payload: Buffer.isBuffer(reply[i + 6]) ? (reply[i + 6] as Buffer) : Buffer.from(text(reply[i + 6])),
      backoff: text(reply[i + 7]),
      timeoutMs: timeout === '' ? undefined : Number(timeout),
      carrier: reply[i + 9] == null ? '' : text(reply[i + 9]),
    });
  }
  return jobs;
}

const processing = traceChannel(TraceChannels.queueProcess);
const NO_CARRIER: Readonly<Record<string, string>> = Object.freeze({});

/** A stored carrier back (string fields only; anything unreadable is no carrier). */
function readCarrier(json: string): Readonly<Record<string, string>> {
  if (json === '') return NO_CARRIER;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null) return NO_CARRIER;
    const carrier: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') carrier[k] = v;
    return carrier;
  } catch {
    return NO_CARRIER;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Most completions sent in one call: bounds one call's run time on the server. */
const MAX_ACKS = 500;

/** A worker: fetches while it has free slots, runs deliveries, renews their leases, acknowledges. */
export class RedisJobWorker implements JobWorker {
  readonly #ctx: WorkerContext;
  readonly #handler: JobHandler;
  readonly #concurrency: number;
  readonly #running = new Set<Running>();
  /** Handlers running now (not those whose outcome is on the way): what the free slots count. */
  #handling = 0;
  /** Finished deliveries whose completion has not been sent yet. */
  #acks: Running[] = [];
  /**
   * Where the fetch loop is: 'call' (a fetch in flight: completions wait for the next one),
   * 'slot' (waiting for a free slot: a completion wakes it and goes with its fetch) or 'other'
   * (idle, rate-limited, backing off or stopped: completions are sent on their own).
   */
  #phase: 'call' | 'slot' | 'other' = 'other';
  #ackFlushScheduled = false;
  #ackErrors = 0;
  #renewTimer: NodeJS.Timeout | undefined;
  #renewing = false;
  readonly #stop = new AbortController();
  #slotFreed: (() => void) | undefined;
  readonly #loopDone: Promise<void>;
  #closed: Promise<void> | undefined;
  readonly #handBacks = new Set<Promise<unknown>>();

  constructor(ctx: WorkerContext, handler: JobHandler, concurrency: number) {
    this.#ctx = ctx;
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#loopDone = this.#loop();
  }

  get running(): number {
    return this.#running.size;
  }

  #args(...rest: (string | number)[]): (string | number)[] {
    return [this.#ctx.keys.jobPrefix, this.#ctx.keys.wakeChannel, ...rest];
  }

  async #loop(): Promise<void> {
    const { waker, redis, keys, leaseMs } = this.#ctx;
    const stop = this.#stop.signal;
    await waker.ensure();
    let errors = 0;
    try {
      while (!stop.aborted) {
        this.#phase = 'other';
        let free = this.#concurrency - this.#handling;
        if (free <= 0 && this.#acks.length === 0) {
          this.#phase = 'slot';
          await new Promise<void>((resolve) => {
            this.#slotFreed = resolve;
          });
          continue;
        }
        // A rate-limited queue: fetch no more than the permits taken (waits while refused).
        if (free > 0 && this.#ctx.permits) free = await this.#ctx.permits.take(free, stop);
        if (free <= 0 && this.#acks.length === 0) continue;
        // Completions that finished meanwhile go with this fetch (one call, one round trip).
        this.#phase = 'call';
        const acks = this.#takeAcks();
        const take = Math.max(0, free);
        const generation = waker.generation;
        const sentAt = performance.now();
        let reply: unknown[];
        try {
          reply = await fetchScript.run<unknown[]>(redis, keys.list, this.#fetchArgs(take, acks), {
            returnBuffers: true,
          });
          errors = 0;
        } catch {
          // Redis down or paused: keep the worker alive and try again, backing off up to 2 s.
          this.#phase = 'other';
          this.#retryAcks(acks);
          errors++;
          await waker.wait(generation, Math.min(2_000, 25 * 2 ** errors), stop);
          continue;
        }
        this.#settleAcks(acks, reply);
        const jobs = parseJobs(reply, 1 + acks.length);
        for (const job of jobs) {
          if (stop.aborted) this.#handBack(job);
          else this.#start(job, sentAt + leaseMs);
        }
        if (this.#acks.length > 0 || take === 0 || jobs.length === take) continue;
        this.#phase = 'other';
        if (!waker.subscribed) void waker.ensure();
        const next = Number(reply[0]);
        const cap = waker.subscribed ? IDLE_CAP_MS : 1_000;
        await waker.wait(generation, next < 0 ? cap : Math.max(1, Math.min(cap, next + 1)), stop);
      }
    } finally {
      // Stopped: completions from now on are sent on their own.
      this.#phase = 'other';
      if (this.#acks.length > 0) this.#scheduleAckFlush(0);
    }
  }

  /** The fetch script's arguments: take up to `take` jobs after completing `acks`. */
  #fetchArgs(take: number, acks: readonly Running[]): (string | number)[] {
    const { keys, leaseMs, retentionMs } = this.#ctx;
    const args: (string | number)[] = new Array(6 + 2 * acks.length);
    args[0] = keys.jobPrefix;
    args[1] = keys.wakeChannel;
    args[2] = take;
    args[3] = leaseMs;
    args[4] = retentionMs;
    args[5] = acks.length;
    for (let i = 0; i < acks.length; i++) {
      args[6 + 2 * i] = acks[i]!.job.id;
      args[7 + 2 * i] = acks[i]!.job.token;
    }
    return args;
  }

  #takeAcks(): Running[] {
    if (this.#acks.length <= MAX_ACKS) {
      const acks = this.#acks;
      this.#acks = [];
      return acks;
    }
    return this.#acks.splice(0, MAX_ACKS);
  }

  /** Completion results: 1 done (event), 0 the token no longer held the job (lease lost). */
  #settleAcks(acks: readonly Running[], reply: unknown[]): void {
    for (let i = 0; i < acks.length; i++) {
      const run = acks[i]!;
      if (Number(reply[1 + i]) === 1) {
        run.outcome = 'completed';
        publishJobEvent({
          queue: this.#ctx.name,
          event: 'completed',
          attempt: run.attempt,
          durationMs: run.durationMs,
        });
      } else {
        this.#lose(run, 'its lease ran out or a later delivery took the job');
      }
      this.#settle(run);
    }
  }

  /** Redis unreachable: completions go again while their lease lasts; after it the job comes back anyway. */
  #retryAcks(acks: readonly Running[]): void {
    const now = performance.now();
    for (const run of acks) {
      if (run.gone || now >= run.leaseUntil) this.#settle(run);
      else this.#acks.push(run);
    }
  }

  #settle(run: Running): void {
    const done = run.acked;
    run.acked = undefined;
    done?.();
  }

  /** Sends the waiting completions on their own (the loop is idle, waiting or stopped). */
  #scheduleAckFlush(delayMs: number): void {
    if (this.#ackFlushScheduled) return;
    this.#ackFlushScheduled = true;
    const flush = () => {
      this.#ackFlushScheduled = false;
      void this.#flushAcks();
    };
    if (delayMs > 0) setTimeout(flush, delayMs);
    else setImmediate(flush);
  }

  /** Completions are waiting: whoever is to send them next is told. */
  #acksWaiting(delayMs = 0): void {
    if (this.#phase === 'slot') this.#wakeLoop();
    else if (this.#phase === 'other') this.#scheduleAckFlush(delayMs);
    // 'call': the loop sends them after the reply.
  }

  async #flushAcks(): Promise<void> {
    if (this.#acks.length === 0) return;
    if (this.#phase !== 'other') {
      this.#acksWaiting();
      return;
    }
    const acks = this.#takeAcks();
    try {
      const reply = await fetchScript.run<unknown[]>(
        this.#ctx.redis,
        this.#ctx.keys.list,
        this.#fetchArgs(0, acks),
      );
      this.#ackErrors = 0;
      this.#settleAcks(acks, reply);
    } catch {
      this.#retryAcks(acks);
      this.#ackErrors++;
    }
    if (this.#acks.length > 0) {
      this.#acksWaiting(this.#ackErrors === 0 ? 0 : Math.min(1_000, 25 * 2 ** this.#ackErrors));
    }
  }

  #handBack(job: FetchedJob): void {
    const args = this.#args(job.id, job.token);
    const done = releaseScript.run(this.#ctx.redis, this.#ctx.keys.list, args).catch(() => {});
    this.#handBacks.add(done);
    void done.finally(() => this.#handBacks.delete(done));
  }

  #start(job: FetchedJob, leaseUntil: number): void {
    const run: Running = {
      job,
      controller: new AbortController(),
      leaseUntil,
      gone: false,
      acking: false,
      attempt: job.failures + 1,
      durationMs: 0,
      outcome: undefined,
      acked: undefined,
      finished: Promise.resolve(),
    };
    this.#running.add(run);
    this.#handling++;
    // One timer per worker renews every lease it holds, in one call.
    this.#renewTimer ??= setInterval(this.#renewAll, Math.max(1, Math.floor(this.#ctx.leaseMs / 3)));
    run.finished = this.#deliver(run);
  }

  /**
   * Runs one delivery. Traced on `voelgoed:queue:process` when someone subscribes: the handler
   * runs through the subscriber's enter, and the trace settles once the outcome is known (the
   * completion acknowledged, or the failure recorded).
   */
  #deliver(run: Running): Promise<unknown> {
    if (!processing.hasSubscribers) return this.#handle(run, undefined);
    const context = (): QueueProcessTrace => ({
      queue: this.#ctx.name,
      jobId: run.job.id,
      attempt: run.attempt,
      deliveryToken: run.job.token,
      carrier: readCarrier(run.job.carrier),
    });
    return traced(processing, context, async (ctx) => {
      const failure = await this.#handle(run, ctx);
      if (failure === undefined) return;
      if (ctx) ctx.errorCode = codeOf(failure.error);
      throw failure.error;
    }).catch(() => {});
  }

  /** Runs the handler and settles the delivery; returns the handler's failure, if any. */
  async #handle(run: Running, trace: QueueProcessTrace | undefined): Promise<{ error: unknown } | undefined> {
    const { job, controller, attempt } = run;
    const { name } = this.#ctx;
    publishJobEvent({ queue: name, event: 'started', attempt });
    let timeout: NodeJS.Timeout | undefined;
    const started = performance.now();
    let failure: { error: unknown } | undefined;
    try {
      const delivery: JobDelivery = Object.freeze({
        id: job.id,
        queue: name,
        payload: decodePayload(job.kind, job.payload),
        attempt,
        maxAttempts: job.maxAttempts,
        deliveryToken: job.token,
        enqueuedAt: job.enqueuedAt,
        signal: controller.signal,
      });
      const handled = Promise.resolve().then(() => this.#handler(delivery));
      if (job.timeoutMs === undefined) {
        await handled;
      } else {
        const ms = job.timeoutMs;
        await Promise.race([
          handled,
          new Promise((_, reject) => {
            timeout = setTimeout(() => {
              const error = new TimeoutError(
                `${MESSAGE_PREFIX} the handler ran longer than timeoutMs (${ms} ms)`,
              );
              controller.abort(error);
              reject(error);
            }, ms);
          }),
        ]);
        // The handler keeps its own promise; its late rejection must not go unhandled.
        handled.catch(() => {});
      }
    } catch (error) {
      failure = { error };
    } finally {
      clearTimeout(timeout);
    }
    this.#handling--;
    this.#wakeLoop();
    try {
      if (run.gone) {
        if (trace) trace.outcome = 'lease_lost';
        return failure;
      }
      run.durationMs = performance.now() - started;
      run.acking = true;
      if (failure) {
        const outcome = await this.#fail(run, failure);
        if (trace) trace.outcome = outcome;
      } else {
        await this.#complete(run);
        // Not acknowledged: the lease was lost, or ran out while Redis could not be reached.
        if (trace) trace.outcome = run.outcome ?? 'lease_lost';
      }
      return failure;
    } finally {
      this.#running.delete(run);
      if (this.#running.size === 0 && this.#renewTimer !== undefined) {
        clearInterval(this.#renewTimer);
        this.#renewTimer = undefined;
      }
    }
  }

  /** A slot is free: the loop fetches, after this tick's other completions have queued up. */
  #wakeLoop(): void {
    const freed = this.#slotFreed;
    if (freed === undefined) return;
    this.#slotFreed = undefined;
    setImmediate(freed);
  }

  /** Queues the completion: sent with the loop's next fetch, or on its own when the loop waits. */
  #complete(run: Running): Promise<void> {
    return new Promise<void>((resolve) => {
      run.acked = resolve;
      this.#acks.push(run);
      this.#acksWaiting();
    });
  }

  readonly #renewAll = (): void => {
    void this.#renewLeases();
  };

  async #renewLeases(): Promise<void> {
    const now = performance.now();
    const runs: Running[] = [];
    for (const run of this.#running) {
      // A delivery whose outcome is on the way is settled by that outcome's reply.
      if (run.gone || run.acking) continue;
      if (now >= run.leaseUntil) this.#lose(run, 'its lease ran out before it could be renewed');
      else runs.push(run);
    }
    if (this.#renewing || runs.length === 0) return;
    this.#renewing = true;
    const { redis, keys, leaseMs } = this.#ctx;
    const args: (string | number)[] = [keys.jobPrefix, keys.wakeChannel, leaseMs];
    for (const run of runs) args.push(run.job.id, run.job.token);
    const sentAt = performance.now();
    try {
      const held = await renewScript.run<unknown[]>(redis, keys.list, args);
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i]!;
        if (Number(held[i]) === 1) run.leaseUntil = Math.max(run.leaseUntil, sentAt + leaseMs);
        else if (!run.acking) this.#lose(run, 'its lease ran out or a later delivery took the job');
      }
    } catch {
      // Redis unreachable: a lease holds until its local deadline, checked at the next tick.
      const t = performance.now();
      for (const run of runs) {
        if (!run.acking && t >= run.leaseUntil)
          this.#lose(run, 'its lease could not be renewed before it ran out');
      }
    } finally {
      this.#renewing = false;
    }
  }

  #lose(run: Running, why: string): void {
    if (run.gone) return;
    run.gone = true;
    publishJobEvent({ queue: this.#ctx.name, event: 'lease_lost', attempt: run.job.failures + 1 });
    this.#ctx.logger.warn(
      { queue: this.#ctx.name, jobId: run.job.id, attempt: run.job.failures + 1, reason: why },
      'job lease lost',
    );
    run.controller.abort(new LockLostError(`${MESSAGE_PREFIX} delivery lost: ${why}`, [run.job.id]));
  }

  /** Records the failure; returns the outcome ('failed' when Redis could not be told in time). */
  async #fail(run: Running, failure: { error: unknown }): Promise<Outcome> {
    const { redis, keys, name } = this.#ctx;
    const { job, attempt, durationMs } = run;
    const wait = backoffMs(job.backoff, attempt);
    const error = JSON.stringify(describeFailure(failure.error));
    for (let tries = 0; ; tries++) {
      try {
        const outcome = Number(
          await failScript.run(redis, keys.list, this.#args(job.id, job.token, error, wait)),
        );
        if (outcome === 0) {
          this.#lose(run, 'its lease ran out or a later delivery took the job');
          return 'lease_lost';
        }
        publishJobEvent({
          queue: name,
          event: 'failed',
          attempt,
          durationMs,
          errorCode: codeOf(failure.error),
        });
        if (outcome === 2) {
          publishJobEvent({ queue: name, event: 'dead_lettered', attempt });
          this.#ctx.logger.warn(
            { queue: name, jobId: job.id, attempts: attempt, errorCode: codeOf(failure.error) },
            'job dead-lettered',
          );
          return 'dead_lettered';
        }
        publishJobEvent({ queue: name, event: 'retried', attempt, delayMs: wait });
        this.#ctx.logger.info(
          { queue: name, jobId: job.id, attempt, errorCode: codeOf(failure.error), retryInMs: wait },
          'job handler failed, retrying',
        );
        return 'retried';
      } catch {
        // Redis unreachable: try again while the lease lasts; after it the job comes back anyway.
        if (run.gone || performance.now() >= run.leaseUntil) return 'failed';
        await sleep(Math.min(1_000, 25 * 2 ** tries));
      }
    }
  }

  close(options?: JobWorkerCloseOptions): Promise<void> {
    let graceMs = 10_000;
    try {
      const o = fields(options, ['graceMs'] as const, 'close options');
      if (o.graceMs !== undefined) graceMs = numberIn(o.graceMs, 'graceMs', 0, MAX_DELAY_MS);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  async #close(graceMs: number): Promise<void> {
    this.#stop.abort();
    this.#slotFreed?.();
    await this.#loopDone;
    const all = () => Promise.all([...this.#running].map((r) => r.finished));
    if (this.#running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    // Grace over: stop the rest and hand their jobs back, so another worker takes them at once.
    let handedBack = 0;
    for (const run of this.#running) if (!run.gone && !run.acking) handedBack++;
    if (handedBack > 0) {
      this.#ctx.logger.warn(
        { queue: this.#ctx.name, graceMs, running: handedBack },
        'worker close grace exceeded, handing running jobs back',
      );
    }
    for (const run of this.#running) {
      // A delivery whose outcome is on the way is settled by that outcome.
      if (run.gone || run.acking) continue;
      run.gone = true;
      run.controller.abort(
        new AbortedError(`${MESSAGE_PREFIX} the worker was closed before the job finished`),
      );
      this.#handBack(run.job);
    }
    await Promise.all(this.#handBacks);
    await all();
  }
}
