import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  errorCodeOf,
  type JobHandler,
  type JobWorker,
  type JobWorkerCloseOptions,
  type QueueProcessTrace,
  TraceChannels,
  traceChannel,
  traced,
} from '@voelgoed/contracts';
import { Completions, type LoopPhase } from './completions.js';
import { callHandler, newRunning, type Running, readCarrier } from './delivery.js';
import { publishJobEvent } from './events.js';
import { recordFailure } from './failure.js';
import { type FetchedJob, fetchArgs, parseJobs } from './fetch.js';
import { redisRetryDelayMs } from './input.js';
import { LeaseRenewal } from './lease-renewal.js';
import { fetchScript } from './scripts.js';
import { allFinished, HandBacks, readGraceMs, waitForGrace } from './shutdown.js';
import type { WorkerContext } from './worker-context.js';

/** Longest idle wait between fetches when nothing is due (a missed wake-up costs at most this). */
const IDLE_CAP_MS = 5_000;
/** How long close() waits, after the grace, for outcomes on their way to reach Redis (at most the lease). */
const OUTCOME_WINDOW_MS = 5_000;

/**
 * Fetch calls a worker keeps in flight at most (each for up to half its slots): while Redis runs
 * one, the worker starts the jobs of the other, so client and server work at the same time
 * instead of in turn. One where a single slot or a rate limit leaves nothing to overlap. Only
 * the first fetcher idles on wake-ups; the others rest until a fetch comes back full (a backlog),
 * so an idle worker still makes one fetch per wake-up.
 */
const FETCHERS = 2;

const processing = traceChannel(TraceChannels.queueProcess);

/**
 * A worker: fetches while it has free slots, runs deliveries, renews their leases, acknowledges.
 * The fetch loop and each delivery's course are here; completions batching (completions.ts),
 * lease renewal (lease-renewal.ts), failure recording (failure.ts) and hand-backs at close
 * (shutdown.ts) have their own modules.
 */
export class RedisJobWorker implements JobWorker {
  readonly #ctx: WorkerContext;
  readonly #handler: JobHandler;
  readonly #concurrency: number;
  readonly #running = new Set<Running>();
  /** Handlers running now (not those whose outcome is on the way): what the free slots count. */
  #handling = 0;
  /** Jobs asked for by the fetches in flight: slots they will fill. */
  #reserved = 0;
  /** Most jobs one fetch takes: the slots divided among the fetchers. */
  readonly #batch: number;
  /**
   * Most jobs the next fetch takes: halved after a fetch whose reply was lost (one too large to
   * come back within the command timeout must not be asked for again whole), doubled back up to
   * {@link #batch} after each fetch that came back full.
   */
  #batchLimit: number;
  /** Where each fetcher is (completions.ts decides from these who sends the waiting completions). */
  readonly #phases: LoopPhase[];
  /** Finished deliveries whose completion has not been sent yet. */
  readonly #completions: Completions;
  readonly #leases: LeaseRenewal;
  readonly #handBacks: HandBacks;
  readonly #stop = new AbortController();
  #slotWaiters: (() => void)[] = [];
  /** Fetchers other than the first, resting until a fetch comes back full. */
  #backlogWaiters: (() => void)[] = [];
  readonly #loopDone: Promise<void>;
  #closed: Promise<void> | undefined;

  constructor(ctx: WorkerContext, handler: JobHandler, concurrency: number) {
    this.#ctx = ctx;
    this.#handler = handler;
    this.#concurrency = concurrency;
    const fetchers = concurrency >= 2 && !ctx.permits ? FETCHERS : 1;
    this.#batch = Math.ceil(concurrency / fetchers);
    this.#batchLimit = this.#batch;
    this.#phases = new Array<LoopPhase>(fetchers).fill('other');
    this.#completions = new Completions(
      ctx,
      () => this.#phase(),
      () => this.#wakeLoop(),
    );
    this.#leases = new LeaseRenewal(ctx, this.#running);
    this.#handBacks = new HandBacks(ctx);
    this.#loopDone = Promise.all(this.#phases.map((_, i) => this.#loop(i))).then(() => {});
  }

  /** Handlers running now (one past its `timeoutMs` counts until it returns: it holds its slot). */
  get running(): number {
    return this.#handling;
  }

  /**
   * One fetcher: fetches (with the waiting completions) while slots are free; then the first
   * idles until a wake-up or a due job, the others until a fetch comes back full. Each of the
   * worker's fetchers runs this with its own index.
   */
  async #loop(index: number): Promise<void> {
    const { waker, leaseMs } = this.#ctx;
    const stop = this.#stop.signal;
    const completions = this.#completions;
    const phases = this.#phases;
    await waker.ensure();
    let errors = 0;
    try {
      while (!stop.aborted) {
        phases[index] = 'other';
        // A fetch whose reply was lost may have taken jobs: they go back before the next fetch.
        // Awaited before the free slots are counted: both fetchers may wait on it, and a count
        // from before it would let each fetch the same free slots (one handler past concurrency).
        if (completions.lost.size > 0) {
          if (!(await completions.lost.reclaim())) {
            errors++;
            await waker.wait(waker.generation, redisRetryDelayMs(errors, 2_000), stop);
          }
          continue;
        }
        let free = Math.min(this.#batchLimit, this.#concurrency - this.#handling - this.#reserved);
        if (free <= 0 && completions.size === 0) {
          await this.#waitForSlot(index);
          continue;
        }
        // A rate-limited queue: fetch no more than the permits taken (waits while refused).
        if (free > 0 && this.#ctx.permits) free = await this.#ctx.permits.take(free, stop);
        if (free <= 0 && completions.size === 0) continue;
        // Waiting for permits, a call may have been lost: it goes back first, and the free
        // slots are counted again after that wait (nothing is awaited from here to the reserve).
        if (completions.lost.size > 0) {
          if (!(await completions.lost.reclaim())) {
            errors++;
            await waker.wait(waker.generation, redisRetryDelayMs(errors, 2_000), stop);
            continue;
          }
          free = Math.min(free, this.#concurrency - this.#handling - this.#reserved);
        }
        // Completions that finished meanwhile go with this fetch (one call, one round trip).
        phases[index] = 'call';
        const acks = completions.take();
        const take = Math.max(0, free);
        const generation = waker.generation;
        const sentAt = performance.now();
        this.#reserved += take;
        const reply = await this.#fetch(index, take, acks);
        this.#reserved -= take;
        if (reply === undefined) {
          // The slots it reserved are free again: a fetcher waiting for one may fetch.
          if (take > 0) this.#wakeLoop();
          // Redis down or paused: keep the worker alive and try again, backing off up to 2 s.
          errors++;
          await waker.wait(generation, redisRetryDelayMs(errors, 2_000), stop);
          continue;
        }
        errors = 0;
        completions.settle(acks, reply);
        const fetched = this.#startAll(parseJobs(reply, 1 + acks.length), sentAt + leaseMs);
        // Slots it reserved but did not fill are free again: a fetcher that found none free while
        // this call was in flight waits for one, and nothing else would wake it (a running
        // handler may not finish for a long time).
        if (fetched < take) this.#wakeLoop();
        if (take > 0 && fetched === take) {
          this.#batchLimit = Math.min(this.#batch, this.#batchLimit * 2);
          this.#wakeBacklog();
        }
        if (completions.size > 0 || take === 0 || fetched === take) continue;
        phases[index] = 'other';
        if (index === 0) await this.#idle(Number(reply[0]), generation);
        else await this.#waitForBacklog();
      }
    } finally {
      // Stopped: completions from now on are sent on their own.
      phases[index] = 'other';
      if (completions.size > 0) completions.flushSoon(0);
    }
  }

  /** Where the fetchers are, for the completions: one waiting for a slot, else one calling, else none. */
  #phase(): LoopPhase {
    let calling = false;
    for (const phase of this.#phases) {
      if (phase === 'slot') return 'slot';
      if (phase === 'call') calling = true;
    }
    return calling ? 'call' : 'other';
  }

  /** Waits until a delivery frees a slot (or completions are waiting, or the worker closes). */
  #waitForSlot(index: number): Promise<void> {
    this.#phases[index] = 'slot';
    return new Promise<void>((resolve) => {
      this.#slotWaiters.push(resolve);
    });
  }

  /**
   * One fetch call: takes up to `take` jobs after completing `acks`; undefined when Redis failed
   * (`acks` go again, or, when the call may have run, wait for the reclaim before the next fetch).
   */
  async #fetch(index: number, take: number, acks: Running[]): Promise<unknown[] | undefined> {
    const { redis, keys } = this.#ctx;
    const call = randomUUID();
    try {
      return await fetchScript.run<unknown[]>(redis, keys.list, fetchArgs(this.#ctx, take, acks, call));
    } catch (error) {
      this.#phases[index] = 'other';
      if (this.#completions.failed(call, acks, error)) {
        this.#batchLimit = Math.max(1, Math.floor(this.#batchLimit / 2));
      }
      return undefined;
    }
  }

  /** Starts the fetched jobs (hands them back when the worker is closing); returns how many came. */
  #startAll(jobs: readonly FetchedJob[], leaseUntil: number): number {
    for (const job of jobs) {
      if (this.#stop.signal.aborted) this.#handBacks.add(job);
      else this.#start(job, leaseUntil);
    }
    return jobs.length;
  }

  /** A fetcher other than the first found too few jobs: rests until a fetch comes back full (or close). */
  #waitForBacklog(): Promise<void> {
    if (this.#stop.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#backlogWaiters.push(resolve);
    });
  }

  /** A fetch came back full: the resting fetchers fetch too. */
  #wakeBacklog(): void {
    for (const resolve of this.#backlogWaiters.splice(0)) resolve();
  }

  /** Nothing more to fetch now: waits for a wake-up, or until the next job is due (`next` ms, < 0 none). */
  #idle(next: number, generation: number): Promise<void> {
    const { waker } = this.#ctx;
    if (!waker.subscribed) void waker.ensure();
    const cap = waker.subscribed ? IDLE_CAP_MS : 1_000;
    return waker.wait(generation, next < 0 ? cap : Math.max(1, Math.min(cap, next + 1)), this.#stop.signal);
  }

  #start(job: FetchedJob, leaseUntil: number): void {
    const run = newRunning(job, leaseUntil);
    this.#running.add(run);
    this.#handling++;
    this.#leases.start();
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
      if (ctx) ctx.errorCode = errorCodeOf(failure.error);
      throw failure.error;
    }).catch(() => {});
  }

  /** Runs the handler and settles the delivery; returns the handler's failure, if any. */
  async #handle(run: Running, trace: QueueProcessTrace | undefined): Promise<{ error: unknown } | undefined> {
    publishJobEvent({ queue: this.#ctx.name, event: 'started', attempt: run.attempt });
    const started = performance.now();
    let failure: { error: unknown } | undefined;
    try {
      await callHandler(this.#handler, run, this.#ctx.name);
    } catch (error) {
      failure = { error };
    } finally {
      clearTimeout(run.timeout);
    }
    // A handler past its timeout is failed now (its job goes back in line), but it keeps its
    // slot until it returns: the concurrency holds even when a handler ignores its signal.
    if (run.overran === undefined) this.#freeSlot();
    else void run.overran.then(() => this.#freeSlot());
    try {
      if (run.gone) {
        if (trace) trace.outcome = 'lease_lost';
        return failure;
      }
      run.durationMs = performance.now() - started;
      run.acking = true;
      if (failure) {
        const outcome = await recordFailure(this.#ctx, run, failure.error);
        if (trace) trace.outcome = outcome;
      } else {
        await this.#completions.add(run);
        // Not acknowledged: the lease was lost, or ran out while Redis could not be reached.
        if (trace) trace.outcome = run.outcome ?? 'lease_lost';
      }
      return failure;
    } finally {
      this.#running.delete(run);
      this.#leases.stopWhenIdle();
    }
  }

  #freeSlot(): void {
    this.#handling--;
    this.#wakeLoop();
  }

  /**
   * A slot is free: the waiting fetchers fetch once this tick's microtasks are done (so the
   * completions of handlers that finished together go in one call), before the next reply is read.
   */
  #wakeLoop(): void {
    if (this.#slotWaiters.length === 0) return;
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    process.nextTick(() => {
      for (const resolve of waiters) resolve();
    });
  }

  close(options?: JobWorkerCloseOptions): Promise<void> {
    let graceMs: number;
    try {
      graceMs = readGraceMs(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closed ??= this.#close(graceMs);
    return this.#closed;
  }

  /** Stops fetching, waits up to `graceMs` for running deliveries, then hands the rest back. */
  async #close(graceMs: number): Promise<void> {
    this.#stop.abort();
    this.#wakeLoop();
    this.#wakeBacklog();
    await this.#loopDone;
    await waitForGrace(this.#running, graceMs);
    // Grace over: stop the rest and hand their jobs back, so another worker takes them at once.
    this.#handBacks.abortRunning(this.#running, graceMs);
    // Best effort: a lost fetch's jobs go back now rather than after their lease.
    await this.#completions.lost.reclaim();
    await this.#handBacks.settled();
    // Outcomes on the way are awaited, within a bound; a handler that ignores its aborted signal
    // is not (its job is handed back, and whatever it reports later is refused), so close()
    // cannot hang on it.
    await this.#settleOutcomes([...this.#running].filter((run) => !run.gone));
    // Renewals stop even while such a handler runs on: its lease was handed back.
    this.#leases.stop();
  }

  /**
   * Waits for the outcomes on their way (completions, failures) for up to
   * {@link OUTCOME_WINDOW_MS} (at most the lease), trying again to settle a completion call whose
   * reply was lost (nothing else would once the loop has stopped); then lets the rest go: their
   * jobs come back after their lease, as after a crash.
   */
  async #settleOutcomes(pending: readonly Running[]): Promise<void> {
    if (pending.length === 0) return;
    const deadline = performance.now() + Math.min(this.#ctx.leaseMs, OUTCOME_WINDOW_MS);
    let done = false;
    const all = allFinished(pending).then(() => {
      done = true;
    });
    while (!done && performance.now() < deadline) {
      if (this.#completions.lost.size > 0) await this.#completions.lost.reclaim();
      if (done) break;
      await Promise.race([all, sleep(Math.max(1, Math.min(100, deadline - performance.now())))]);
    }
    if (done) return;
    this.#ctx.logger.warn(
      { queue: this.#ctx.name, outcomes: pending.filter((run) => run.acking).length },
      'worker closed with job outcomes Redis did not confirm; their jobs come back after their lease',
    );
    this.#completions.abandon();
    await all;
  }
}
