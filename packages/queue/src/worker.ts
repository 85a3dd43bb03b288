import {
  AbortedError,
  type JobDelivery,
  type JobHandler,
  type JobWorker,
  type JobWorkerCloseOptions,
  LockLostError,
  TimeoutError,
} from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import { MESSAGE_PREFIX } from './errors.js';
import { codeOf, publishJobEvent } from './events.js';
import { backoffMs, decodePayload, describeFailure, fields, MAX_DELAY_MS, numberIn } from './input.js';
import type { QueueKeys } from './keys.js';
import { completeScript, failScript, fetchScript, releaseScript, renewScript } from './scripts.js';
import type { Waker } from './waker.js';

/** What a worker needs of its queue. */
export interface WorkerContext {
  readonly name: string;
  readonly redis: RedisClient;
  readonly keys: QueueKeys;
  readonly leaseMs: number;
  readonly retentionMs: number;
  readonly waker: Waker;
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
}

interface Running {
  readonly job: FetchedJob;
  readonly controller: AbortController;
  /** Local deadline of the lease: set from the send time of the command that set it, so never later than the server's. */
  leaseUntil: number;
  /** The lease is gone (lost, or handed back): the outcome is not acknowledged. */
  gone: boolean;
  renewing: boolean;
  finished: Promise<void>;
}

const text = (b: unknown) => (Buffer.isBuffer(b) ? b.toString('utf8') : String(b ?? ''));

function parseJobs(reply: unknown[]): FetchedJob[] {
  const jobs: FetchedJob[] = [];
  for (let i = 1; i + 8 < reply.length; i += 9) {
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
    });
  }
  return jobs;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A worker: fetches while it has free slots, runs deliveries, renews their leases, acknowledges. */
export class RedisJobWorker implements JobWorker {
  readonly #ctx: WorkerContext;
  readonly #handler: JobHandler;
  readonly #concurrency: number;
  readonly #running = new Set<Running>();
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
    while (!stop.aborted) {
      const free = this.#concurrency - this.#running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.#slotFreed = resolve;
        });
        continue;
      }
      const generation = waker.generation;
      const sentAt = performance.now();
      let reply: unknown[];
      try {
        reply = await fetchScript.run<unknown[]>(redis, keys.list, this.#args(free, leaseMs), {
          returnBuffers: true,
        });
        errors = 0;
      } catch {
        // Redis down or paused: keep the worker alive and try again, backing off up to 2 s.
        errors++;
        await waker.wait(generation, Math.min(2_000, 25 * 2 ** errors), stop);
        continue;
      }
      const jobs = parseJobs(reply);
      for (const job of jobs) {
        if (stop.aborted) this.#handBack(job);
        else this.#start(job, sentAt + leaseMs);
      }
      if (jobs.length === free) continue;
      if (!waker.subscribed) void waker.ensure();
      const next = Number(reply[0]);
      const cap = waker.subscribed ? IDLE_CAP_MS : 1_000;
      await waker.wait(generation, next < 0 ? cap : Math.max(1, Math.min(cap, next + 1)), stop);
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
      renewing: false,
      finished: Promise.resolve(),
    };
    this.#running.add(run);
    run.finished = this.#deliver(run).finally(() => {
      this.#running.delete(run);
      const freed = this.#slotFreed;
      this.#slotFreed = undefined;
      freed?.();
    });
  }

  async #deliver(run: Running): Promise<void> {
    const { job, controller } = run;
    const { name, leaseMs } = this.#ctx;
    const attempt = job.failures + 1;
    publishJobEvent({ queue: name, event: 'started', attempt });
    const renewal = setInterval(() => void this.#renew(run), Math.max(1, Math.floor(leaseMs / 3)));
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
      clearInterval(renewal);
      clearTimeout(timeout);
    }
    if (run.gone) return;
    const durationMs = performance.now() - started;
    await this.#acknowledge(run, attempt, durationMs, failure);
  }

  async #renew(run: Running): Promise<void> {
    if (run.gone) return;
    if (performance.now() >= run.leaseUntil) {
      this.#lose(run, 'its lease ran out before it could be renewed');
      return;
    }
    if (run.renewing) return;
    run.renewing = true;
    const sentAt = performance.now();
    try {
      const args = this.#args(run.job.id, run.job.token, this.#ctx.leaseMs);
      const held = await renewScript.run(this.#ctx.redis, this.#ctx.keys.list, args);
      if (Number(held) === 1) run.leaseUntil = Math.max(run.leaseUntil, sentAt + this.#ctx.leaseMs);
      else this.#lose(run, 'its lease ran out or a later delivery took the job');
    } catch {
      // Redis unreachable: the lease holds until its local deadline, checked at the next tick.
      if (performance.now() >= run.leaseUntil)
        this.#lose(run, 'its lease could not be renewed before it ran out');
    } finally {
      run.renewing = false;
    }
  }

  #lose(run: Running, why: string): void {
    if (run.gone) return;
    run.gone = true;
    publishJobEvent({ queue: this.#ctx.name, event: 'lease_lost', attempt: run.job.failures + 1 });
    run.controller.abort(new LockLostError(`${MESSAGE_PREFIX} delivery lost: ${why}`, [run.job.id]));
  }

  async #acknowledge(run: Running, attempt: number, durationMs: number, failure?: { error: unknown }) {
    const { redis, keys, name, retentionMs } = this.#ctx;
    const { job } = run;
    const wait = failure ? backoffMs(job.backoff, attempt) : 0;
    const error = failure ? JSON.stringify(describeFailure(failure.error)) : '';
    for (let tries = 0; ; tries++) {
      try {
        if (!failure) {
          const done = await completeScript.run(redis, keys.list, this.#args(job.id, job.token, retentionMs));
          if (Number(done) === 1) publishJobEvent({ queue: name, event: 'completed', attempt, durationMs });
          else this.#lose(run, 'its lease ran out or a later delivery took the job');
          return;
        }
        const outcome = Number(
          await failScript.run(redis, keys.list, this.#args(job.id, job.token, error, wait)),
        );
        if (outcome === 0) {
          this.#lose(run, 'its lease ran out or a later delivery took the job');
          return;
        }
        publishJobEvent({
          queue: name,
          event: 'failed',
          attempt,
          durationMs,
          errorCode: codeOf(failure.error),
        });
        if (outcome === 2) publishJobEvent({ queue: name, event: 'dead_lettered', attempt });
        else publishJobEvent({ queue: name, event: 'retried', attempt, delayMs: wait });
        return;
      } catch {
        // Redis unreachable: try again while the lease lasts; after it the job comes back anyway.
        if (run.gone || performance.now() >= run.leaseUntil) return;
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
    for (const run of this.#running) {
      if (run.gone) continue;
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
