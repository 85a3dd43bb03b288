import { randomUUID } from 'node:crypto';
import { MAX_DELAY_MS, readOptions } from '../caller-input.js';
import { AbortedError, errorCodeOf, InvalidArgumentError, LockLostError, TimeoutError } from '../errors.js';
import { closedHealth } from '../health-report.js';
import { describeJobFailure } from '../job-failure.js';
import type { HealthReport } from '../ports/health.js';
import type {
  DeadLetter,
  EnqueueOptions,
  EnqueueResult,
  JobCounts,
  JobDelivery,
  JobHandler,
  JobInfo,
  JobPayload,
  JobQueue,
  JobWorker,
  JobWorkerCloseOptions,
  JobWorkerOptions,
} from '../ports/job-queue.js';
import { type Logger, silentLogger } from '../ports/logger.js';
import {
  type QueueProcessTrace,
  type QueuePublishTrace,
  TraceChannels,
  traceChannel,
  traced,
} from '../trace.js';
import { type Clock, systemClock } from './clock.js';
import {
  backoffMs,
  checkJobId,
  type JobSettings,
  loadPayload,
  PREFIX,
  readEnqueueOptions,
  readJobs,
  readPage,
  readQueueOptions,
  readTimeoutMs,
  readWorkerOptions,
  type StoredPayload,
  storePayload,
} from './memory-job-queue-input.js';
import { type Job, JobLine, type Lease, readCloseOptions, type Worker } from './memory-job-queue-line.js';

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions {
  /**
   * Time source (default {@link systemClock}, with timers). With any other clock (a
   * `ManualClock`) the queue reads the clock every few real milliseconds while it has delayed
   * or running jobs, so moving the clock makes delayed jobs due and timeouts pass.
   */
  clock?: Clock;
  /** How long a completed job's id is remembered (idempotent enqueue, `getJob`), ms. Default 24 h. */
  idRetentionMs?: number;
  /** Largest payload, in bytes (JSON as UTF-8). Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * Lease of a delivery, ms (default 30,000). A running worker renews it whenever the queue
   * looks at the clock; it lapses only when the clock jumps past it between two looks (a
   * `ManualClock` advanced by `leaseMs` or more while a handler runs) or through
   * {@link MemoryJobQueue.expireLease}.
   */
  leaseMs?: number;
  /** Jitter source of the backoff, values in [0, 1) (default `Math.random`): seed it in tests. */
  random?: () => number;
  /** Where to log dead-lettered jobs (warn) (default: nothing is logged). */
  logger?: Logger | undefined;
}

const publishing = traceChannel(TraceChannels.queuePublish);
const processing = traceChannel(TraceChannels.queueProcess);
const NO_CARRIER: Readonly<Record<string, string>> = Object.freeze({});

/** The carrier to store with a traced enqueue's jobs: none when it is empty. */
const carrierOf = (ctx: QueuePublishTrace | undefined) =>
  ctx !== undefined && Object.keys(ctx.carrier).length > 0 ? { ...ctx.carrier } : undefined;

const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** How often a queue on a non-system clock reads it, real ms. */
const POLL_MS = 5;

/**
 * An in-memory {@link JobQueue}, for tests of code that enqueues or processes jobs: the same
 * answers, errors and delivery rules as the Redis queue (priorities, delays, retries with
 * exponential backoff and full jitter, delivery tokens, dead letters, leases), in one process.
 * Nothing survives the process.
 *
 * @example
 * const queue = new MemoryJobQueue<{ to: string }>('mail');
 * queue.process(async (job) => send(job.payload.to), { concurrency: 4 });
 * await queue.enqueue({ to: 'a@example.com' }, { id: 'welcome:42' });
 */
export class MemoryJobQueue<T = JobPayload> implements JobQueue<T> {
  /** The last delivery token handed out, queue-wide. */
  #lastToken = 0;
  readonly name: string;
  readonly #clock: Clock;
  readonly #retentionMs: number;
  readonly #maxPayloadBytes: number;
  readonly #leaseMs: number;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #jobs = new Map<string, Job>();
  /** Jobs waiting for a worker or for their time. */
  readonly #line = new JobLine();
  readonly #active = new Set<Job>();
  /** Dead-lettered jobs in the order they failed. */
  readonly #dead = new Map<string, Job>();
  /** Completed jobs in the order they completed, for forgetting them after the retention. */
  readonly #completed: Job[] = [];
  readonly #workers = new Set<Worker>();
  readonly #drains = new Set<() => void>();
  #paused = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(name: string, options?: MemoryJobQueueOptions) {
    checkJobId(name, 'queue name');
    const o = readQueueOptions(options);
    this.name = name;
    this.#clock = o.clock ?? systemClock;
    this.#retentionMs = o.idRetentionMs ?? DEFAULT_RETENTION_MS;
    this.#maxPayloadBytes = o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD;
    this.#leaseMs = o.leaseMs ?? 30_000;
    this.#random = o.random ?? Math.random;
    this.#logger = o.logger ?? silentLogger;
  }

  /** Traced on `voelgoed:queue:publish` when someone subscribes: the carrier goes with the job. */
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    return traced(
      publishing,
      (): QueuePublishTrace => ({ queue: this.name, count: 1, carrier: {} }),
      (ctx) =>
        this.#publish(ctx, async () => {
          const settings = readEnqueueOptions(options);
          const stored = storePayload(payload, this.#maxPayloadBytes);
          const result = this.#add(stored, settings, carrierOf(ctx));
          if (ctx) ctx.jobId = result.id;
          this.#pump();
          return result;
        }),
    );
  }

  enqueueMany(jobs: ReadonlyArray<{ payload: T; options?: EnqueueOptions }>): Promise<EnqueueResult[]> {
    return traced(
      publishing,
      (): QueuePublishTrace => ({ queue: this.name, count: 0, batch: true, carrier: {} }),
      (ctx) =>
        this.#publish(ctx, async () => {
          const checked = readJobs(jobs, this.#maxPayloadBytes);
          if (ctx) ctx.count = checked.length;
          const carrier = carrierOf(ctx);
          const results = checked.map(({ payload, settings }) => this.#add(payload, settings, carrier));
          this.#pump();
          return results;
        }),
    );
  }

  /** Runs an enqueue, noting its error code in the trace context when it fails. */
  async #publish<R>(ctx: QueuePublishTrace | undefined, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      if (ctx) ctx.errorCode = errorCodeOf(error);
      throw error;
    }
  }

  process(handler: JobHandler<T>, options?: JobWorkerOptions): JobWorker {
    const concurrency = readWorkerOptions(handler, options);
    if (this.#closed) throw new InvalidArgumentError(`${PREFIX} the queue is closed`);
    const worker: Worker = {
      handler: handler as JobHandler<never>,
      concurrency,
      handlers: 0,
      closing: false,
      leased: new Set(),
      onChange: undefined,
      get running() {
        return worker.handlers;
      },
      close: (closeOptions) => this.#closeWorker(worker, closeOptions),
    };
    this.#workers.add(worker);
    this.#pump();
    return worker;
  }

  async counts(): Promise<JobCounts> {
    const now = this.#clock.now();
    // A due delayed job counts as waiting (the next fetch takes it), as on Redis; it is not
    // moved here: a read changes no job's place in line.
    const due = this.#line.dueBy(now);
    const waiting = this.#line.ready + due;
    return {
      waiting,
      delayed: this.#line.delayed - due,
      active: this.#active.size,
      deadLettered: this.#dead.size,
      oldestWaitingMs: waiting === 0 ? 0 : Math.max(0, now - this.#line.oldestReadySince(now)),
    };
  }

  async getJob(id: string): Promise<JobInfo<T> | undefined> {
    checkJobId(id);
    const now = this.#clock.now();
    this.#forget(now);
    const job = this.#jobs.get(id);
    if (job === undefined) return undefined;
    return {
      id,
      // Due, not yet taken in line (a read moves nothing): waiting, as on Redis.
      state: job.state === 'delayed' && job.runAt <= now ? 'waiting' : job.state,
      ...(job.payload === undefined ? {} : { payload: loadPayload<T>(job.payload) }),
      failures: job.failures,
      deliveryToken: job.token,
    };
  }

  async deadLetters(options?: { offset?: number; limit?: number }): Promise<DeadLetter<T>[]> {
    const { offset, limit } = readPage(options);
    return [...this.#dead.values()].slice(offset, offset + limit).map((job) => ({
      id: job.id,
      payload: loadPayload<T>(job.payload as StoredPayload),
      attempts: job.failures,
      error: { ...(job.lastError as NonNullable<Job['lastError']>) },
      failedAt: job.doneAt,
    }));
  }

  async retryDeadLetter(id: string): Promise<boolean> {
    checkJobId(id);
    const job = this.#dead.get(id);
    if (job === undefined) return false;
    this.#dead.delete(id);
    job.failures = 0;
    job.lastError = undefined;
    const now = this.#clock.now();
    job.runAt = now;
    this.#line.add(job, now);
    this.#pump();
    return true;
  }

  async removeDeadLetter(id: string): Promise<boolean> {
    checkJobId(id);
    if (!this.#dead.delete(id)) return false;
    this.#jobs.delete(id);
    this.#pump();
    return true;
  }

  async pause(): Promise<void> {
    this.#paused = true;
  }

  async resume(): Promise<void> {
    this.#paused = false;
    this.#pump();
  }

  async isPaused(): Promise<boolean> {
    return this.#paused;
  }

  async drain(options?: { timeoutMs?: number }): Promise<void> {
    const o = readOptions(options, ['timeoutMs'] as const, 'drain options', PREFIX);
    const timeoutMs = o.timeoutMs === undefined ? 30_000 : readTimeoutMs(o.timeoutMs, 'timeoutMs');
    if (this.#isEmpty()) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#drains.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#drains.delete(done);
        reject(new TimeoutError(`${PREFIX} queue ${this.name} did not drain within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#drains.add(done);
    });
  }

  #closed = false;

  /** `up` (it lives in this process) until {@link close}, `down` after. */
  async health(): Promise<HealthReport> {
    return this.#closed
      ? closedHealth('queue', 'memory')
      : { status: 'up', resource: 'queue', target: 'memory', details: { queue: this.name } };
  }

  async close(options?: JobWorkerCloseOptions): Promise<void> {
    readCloseOptions(options);
    this.#closed = true;
    await Promise.all([...this.#workers].map((worker) => this.#closeWorker(worker, options)));
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * For tests: makes the lease of job `id`'s running delivery lapse now, as a stalled worker's
   * would (its signal aborts with `LOCK_LOST`, the job goes back in line without using an
   * attempt, and its next delivery carries a higher token). False when the job is not active.
   */
  async expireLease(id: string): Promise<boolean> {
    checkJobId(id);
    const lease = this.#jobs.get(id)?.lease;
    if (lease === undefined) return false;
    lease.expiresAt = Number.NEGATIVE_INFINITY;
    this.#pump();
    return true;
  }

  #add(
    payload: StoredPayload,
    settings: JobSettings,
    carrier: Readonly<Record<string, string>> | undefined,
  ): EnqueueResult {
    const now = this.#clock.now();
    this.#forget(now);
    const id = settings.id ?? randomUUID();
    if (this.#jobs.has(id)) return { id, created: false };
    const runAt = settings.runAt ?? now + (settings.delayMs ?? 0);
    const job: Job = {
      id,
      payload,
      settings,
      enqueuedAt: now,
      state: 'waiting',
      runAt,
      order: 0,
      readySince: now,
      failures: 0,
      token: 0,
      deliveries: 0,
      lease: undefined,
      lastError: undefined,
      doneAt: 0,
      carrier,
    };
    this.#jobs.set(id, job);
    this.#line.add(job, now);
    return { id, created: true };
  }

  /** Forgets completed jobs whose retention has passed. */
  #forget(now: number): void {
    while (this.#completed.length > 0 && (this.#completed[0] as Job).doneAt + this.#retentionMs <= now) {
      const job = this.#completed.shift() as Job;
      if (this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
    }
  }

  #isEmpty(): boolean {
    return this.#line.ready + this.#line.delayed + this.#active.size === 0;
  }

  /** Looks at the clock and moves every job whose time has come, then starts deliveries. */
  #pump(): void {
    const now = this.#clock.now();
    for (const job of this.#active) {
      const lease = job.lease as Lease;
      if (lease.deadline !== undefined && now >= lease.deadline) {
        this.#release(
          job,
          new TimeoutError(`${PREFIX} job ${job.id} timed out after ${job.settings.timeoutMs} ms`),
        );
        lease.outcome = this.#fail(job, lease.controller.signal.reason, now);
      } else if (lease.expiresAt <= now) {
        this.#release(job, new LockLostError(`${PREFIX} the lease of job ${job.id} lapsed`, [job.id]));
        this.#line.add(job, now, true);
        // Ready since the lease ran out (not since this look at the clock noticed it).
        if (Number.isFinite(lease.expiresAt)) job.readySince = lease.expiresAt;
      } else {
        lease.expiresAt = now + this.#leaseMs;
      }
    }
    // Due delayed jobs go in line where the Redis queue's fetch moves them: while a worker runs
    // (paused or not), not when nobody fetches (they then enter behind jobs enqueued meanwhile).
    if ([...this.#workers].some((w) => !w.closing)) this.#line.promote(now);
    this.#forget(now);
    if (!this.#paused) this.#deliver(now);
    if (this.#isEmpty()) for (const done of [...this.#drains]) done();
    this.#schedule(now);
  }

  #deliver(now: number): void {
    let started = true;
    while (started && this.#line.ready > 0) {
      started = false;
      for (const worker of this.#workers) {
        if (worker.closing || worker.handlers >= worker.concurrency) continue;
        const job = this.#line.next();
        if (job === undefined) return;
        this.#start(job, worker, now);
        started = true;
      }
    }
  }

  /** Hands `job` to `worker`: leases it, then runs the handler (traced when someone listens). */
  #start(job: Job, worker: Worker, now: number): void {
    const lease = this.#lease(job, worker, now);
    const delivery = this.#delivery(job, lease);
    if (processing.hasSubscribers) this.#runTraced(job, lease, delivery);
    else this.#run(job, lease, delivery);
  }

  /** Makes `job` active under a new lease of `worker` (a new delivery token; one handler slot taken). */
  #lease(job: Job, worker: Worker, now: number): Lease {
    // From the queue's counter, not the job's: an id enqueued again after its job was removed
    // goes on from above every token handed out before (fencing on the token keeps working).
    this.#lastToken += 1;
    job.token = this.#lastToken;
    job.deliveries += 1;
    job.state = 'active';
    const timeoutMs = job.settings.timeoutMs;
    const lease: Lease = {
      worker,
      controller: new AbortController(),
      expiresAt: now + this.#leaseMs,
      deadline: timeoutMs === undefined ? undefined : now + timeoutMs,
    };
    job.lease = lease;
    this.#active.add(job);
    worker.leased.add(job);
    worker.handlers += 1;
    return lease;
  }

  /** What the handler receives for this lease of `job` (frozen; the payload a fresh copy). */
  #delivery(job: Job, lease: Lease): JobDelivery<T> {
    return Object.freeze({
      id: job.id,
      queue: this.name,
      payload: loadPayload<T>(job.payload as StoredPayload),
      attempt: job.failures + 1,
      maxAttempts: job.settings.attempts,
      deliveryToken: job.token,
      deliveryCount: job.deliveries,
      enqueuedAt: job.enqueuedAt,
      signal: lease.controller.signal,
    });
  }

  /** Runs the handler on a later tick and settles the delivery with what it did. */
  #run(job: Job, lease: Lease, delivery: JobDelivery<T>): void {
    runHandler(lease.worker, delivery).then(
      () => this.#settle(job, lease, false),
      (error: unknown) => this.#settle(job, lease, true, error),
    );
  }

  /**
   * {@link #run} traced: the handler runs through the subscriber's enter (its calls become the
   * consumer span's children); the span ends once the outcome is known.
   */
  #runTraced(job: Job, lease: Lease, delivery: JobDelivery<T>): void {
    const context = (): QueueProcessTrace => ({
      queue: this.name,
      jobId: job.id,
      attempt: delivery.attempt,
      deliveryToken: job.token,
      carrier: job.carrier ?? NO_CARRIER,
    });
    traced(processing, context, async (ctx) => {
      let failure: { error: unknown } | undefined;
      try {
        await runHandler(lease.worker, delivery);
      } catch (error) {
        failure = { error };
      }
      const outcome = this.#settle(job, lease, failure !== undefined, failure?.error);
      if (ctx) ctx.outcome = outcome;
      if (failure === undefined) return;
      if (ctx) ctx.errorCode = errorCodeOf(failure.error);
      throw failure.error;
    }).catch(() => {});
  }

  /**
   * Settles a delivery once its handler did: frees the worker's slot and, if the lease is still
   * this one, completes or fails the job. Returns the outcome (for the trace): a lease the queue
   * already ended (lapsed, timed out) keeps the outcome it was given then.
   */
  #settle(
    job: Job,
    lease: Lease,
    failed: boolean,
    error?: unknown,
  ): NonNullable<QueueProcessTrace['outcome']> {
    const { worker } = lease;
    worker.handlers -= 1;
    let outcome: NonNullable<QueueProcessTrace['outcome']> = lease.outcome ?? 'lease_lost';
    if (job.lease === lease) {
      const at = this.#clock.now();
      this.#release(job);
      if (failed) outcome = this.#fail(job, error, at);
      else {
        this.#complete(job, at);
        outcome = 'completed';
      }
    }
    worker.onChange?.();
    this.#pump();
    return outcome;
  }

  /** Ends a delivery's lease; with `reason`, aborts its signal (the handler may still be running). */
  #release(job: Job, reason?: Error): void {
    const lease = job.lease as Lease;
    job.lease = undefined;
    this.#active.delete(job);
    lease.worker.leased.delete(job);
    if (reason !== undefined) lease.controller.abort(reason);
    lease.worker.onChange?.();
  }

  #complete(job: Job, now: number): void {
    job.state = 'completed';
    job.payload = undefined;
    job.doneAt = now;
    this.#completed.push(job);
  }

  #fail(job: Job, error: unknown, now: number): 'retried' | 'dead_lettered' {
    job.failures += 1;
    job.lastError = describeJobFailure(error);
    if (job.failures >= job.settings.attempts) {
      job.state = 'dead-lettered';
      job.doneAt = now;
      this.#dead.set(job.id, job);
      this.#logger.warn(
        {
          queue: this.name,
          jobId: job.id,
          attempts: job.failures,
          errorCode: job.lastError.code ?? job.lastError.name,
        },
        'job dead-lettered',
      );
      return 'dead_lettered';
    }
    job.runAt = now + backoffMs(job.settings.backoff, job.failures, this.#random);
    this.#line.add(job, now);
    return 'retried';
  }

  /** Sets the one timer for the next thing that is due (or the next look at a non-system clock). */
  #schedule(now: number): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const working = [...this.#workers].some((w) => !w.closing);
    let due = Number.POSITIVE_INFINITY;
    if (working) due = this.#line.nextDue;
    for (const job of this.#active) {
      const lease = job.lease as Lease;
      due = Math.min(due, lease.expiresAt - (this.#leaseMs * 2) / 3, lease.deadline ?? due);
    }
    if (due === Number.POSITIVE_INFINITY) return;
    const wait =
      this.#clock === systemClock ? Math.min(Math.max(Math.ceil(due - now), 0), MAX_DELAY_MS) : POLL_MS;
    // Unref'd: a test that forgets to close its queue does not keep the process alive.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, wait).unref();
  }

  async #closeWorker(worker: Worker, options: JobWorkerCloseOptions | undefined): Promise<void> {
    const { graceMs } = readCloseOptions(options);
    worker.closing = true;
    if (worker.leased.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, graceMs);
        worker.onChange = () => {
          if (worker.leased.size === 0) done();
        };
        function done() {
          clearTimeout(timer);
          worker.onChange = undefined;
          resolve();
        }
      });
    }
    const now = this.#clock.now();
    for (const job of [...worker.leased]) {
      this.#release(job, new AbortedError(`${PREFIX} the worker closed before job ${job.id} finished`));
      this.#line.add(job, now, true);
    }
    this.#workers.delete(worker);
    this.#pump();
  }
}

/** Calls the worker's handler on a later tick (so that what it throws at once is a rejection too). */
function runHandler<T>(worker: Worker, delivery: JobDelivery<T>): Promise<void> {
  return Promise.resolve().then(() => (worker.handler as JobHandler<T>)(delivery));
}
