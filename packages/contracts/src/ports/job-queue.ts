import type { Resource } from './health.js';

// Ranges a caller's value must be in (else INVALID_ARGUMENT) are given on each option: backoff
// fields, timeouts, grace and paging included, so every implementation refuses the same input.

/**
 * A job's payload: any JSON value (objects, arrays, strings, numbers, booleans, null) or bytes.
 * Bytes come back as a `Uint8Array` (a `Buffer` on Node) with the same content; JSON values come
 * back as `JSON.parse(JSON.stringify(value))` would give them.
 */
export type JobPayload = unknown;

/** Priority levels: `high` jobs are delivered before `normal`, `normal` before `low`. */
export type JobPriority = 'high' | 'normal' | 'low';

/**
 * Backoff between a failed delivery and the next: exponential with full jitter, the wait before
 * attempt n + 1 is a random value in [0, min(maxMs, initialMs × factor^(n − 1))].
 */
export interface JobBackoff {
  /** 0–2^31 − 1 ms, default 1,000 ms. */
  initialMs?: number;
  /** 1–1,000, default 2. */
  factor?: number;
  /** 0–2^31 − 1 ms, default 3,600,000 ms (one hour). */
  maxMs?: number;
}

/** Options of one enqueued job. Bad options reject with `InvalidArgumentError` before anything is stored. */
export interface EnqueueOptions {
  /**
   * Idempotency: at most one job with this id exists at a time, and an id is remembered after
   * the job completed for the queue's retention period. Enqueueing an id that exists stores
   * nothing and resolves with `created: false`. 1–256 characters. Default: a new random id.
   */
  id?: string;
  /** Deliver no earlier than this many ms from now (0–2^31 − 1). Not with `runAt`. */
  delayMs?: number;
  /** Deliver no earlier than this time (a `Date` or epoch ms). Not with `delayMs`. */
  runAt?: Date | number;
  /** Default `normal`. */
  priority?: JobPriority;
  /**
   * Deliveries whose handler failed (threw, rejected or timed out) before the job goes to the
   * dead-letter set, an integer 1–1,000. Default 3. A worker that crashed or lost its lease does
   * not use up an attempt.
   */
  attempts?: number;
  /** Wait between failed attempts. */
  backoff?: JobBackoff;
  /**
   * The handler's time limit per delivery, 1–2^31 − 1 ms; when it passes, the delivery's `signal`
   * aborts and the delivery counts as failed (its error a `TimeoutError`, code `TIMEOUT`).
   * Default: none.
   */
  timeoutMs?: number;
}

/** What {@link JobQueue.enqueue} did. */
export interface EnqueueResult {
  /** The job's id (the given one, or the generated one). */
  id: string;
  /** False when a job with this id already existed (nothing was stored). */
  created: boolean;
}

/** One delivery of a job to a handler. */
export interface JobDelivery<T = JobPayload> {
  readonly id: string;
  readonly queue: string;
  readonly payload: T;
  /** 1 for the first delivery; rises by one after each failed one (crashes and lost leases do not count). */
  readonly attempt: number;
  /** Attempts the job has in all (its `attempts` option). */
  readonly maxAttempts: number;
  /**
   * Rises with every delivery of this job, including re-deliveries after a crash or a lost lease,
   * and goes on rising for a job enqueued again under the same id after this one was removed
   * (tokens come from one counter per queue, so they need not be consecutive). Fence side
   * effects on it: a later delivery always carries a higher token.
   */
  readonly deliveryToken: number;
  /**
   * 1 for the job's first delivery; rises by one with every delivery, including re-deliveries
   * after a crash or a lost lease (which `attempt` does not count): above 1, an earlier delivery
   * of this job may have done some or all of its work.
   */
  readonly deliveryCount: number;
  /** Epoch ms when the job was enqueued. */
  readonly enqueuedAt: number;
  /**
   * Aborts when this delivery's lease is lost (another worker may now run the job), when its
   * `timeoutMs` passes, or when the worker is closed and its grace period ran out.
   */
  readonly signal: AbortSignal;
}

/** Runs one delivery: resolve to complete the job; throw or reject to fail this attempt. */
export type JobHandler<T = JobPayload> = (job: JobDelivery<T>) => Promise<void> | void;

/** Options of a worker. */
export interface JobWorkerOptions {
  /** Deliveries run at once, an integer 1–1,000. Default 1. */
  concurrency?: number;
}

/** Options of {@link JobWorker.close}. */
export interface JobWorkerCloseOptions {
  /**
   * How long running deliveries may take to finish, 0–2^31 − 1 ms (default 10,000). After it,
   * their signals abort and their jobs are handed back at once (not failed, no attempt used).
   */
  graceMs?: number;
}

/** A running worker. */
export interface JobWorker {
  /** Handlers running now (one past its `timeoutMs` counts, and holds its slot, until it returns). */
  readonly running: number;
  /**
   * Stops fetching, lets running deliveries finish within `graceMs`, then hands the rest back so
   * another worker takes them at once. Resolves when every delivery's outcome is recorded or its
   * job handed back; a handler that ignores its aborted signal is not waited for (whatever it
   * reports later is refused).
   */
  close(options?: JobWorkerCloseOptions): Promise<void>;
}

/** Jobs by state. */
export interface JobCounts {
  /** Ready to be delivered now (delayed jobs whose time has come included). */
  waiting: number;
  /** Waiting for their time (delay, run-at or backoff). */
  delayed: number;
  /** Being delivered (leased to a worker). */
  active: number;
  /** In the dead-letter set. */
  deadLettered: number;
  /**
   * How long the job that has waited longest among the `waiting` ones has been ready, in ms; 0
   * when none waits. A job is ready from its enqueue (without a delay), from its due time (a
   * delay, run-at or backoff that has passed), or from the lapse of the lease it lost (a crashed
   * or stalled worker; a closing worker's hand-back, from the hand-back). Delayed and active jobs
   * do not count; a paused queue's jobs go on ageing. Read on the queue's clock (the server's,
   * for a queue on a server), so a gauge of it does not depend on the reader's clock.
   */
  oldestWaitingMs: number;
}

/** A job in the dead-letter set. */
export interface DeadLetter<T = JobPayload> {
  readonly id: string;
  readonly payload: T;
  /** Failed deliveries. */
  readonly attempts: number;
  /**
   * The last failure: the error's name, message and `code` when it had one (a message longer than
   * 2,000 characters is cut there, with a note of how much was left out; a name or code at 200).
   */
  readonly error: { name: string; message: string; code?: string };
  /** Epoch ms when it was dead-lettered. */
  readonly failedAt: number;
}

/** A job's state, as {@link JobQueue.getJob} reports it. */
export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'dead-lettered';

/** What {@link JobQueue.getJob} reports. */
export interface JobInfo<T = JobPayload> {
  readonly id: string;
  readonly state: JobState;
  /** Undefined for a completed job whose payload is no longer kept. */
  readonly payload?: T;
  /** Failed deliveries so far. */
  readonly failures: number;
  /** The highest delivery token handed out so far (0 before the first delivery). */
  readonly deliveryToken: number;
}

/**
 * Durable background jobs (Redis, or in memory for tests): at-least-once delivery to workers,
 * with leases that come back after a crash, retries with backoff, a dead-letter set, delays and
 * priorities. A handler may run more than once for a job (after a crash or a lost lease): make
 * its effects idempotent on the job id, and fence them on `deliveryToken`.
 * Bad input rejects with `InvalidArgumentError`; an oversized payload with `PayloadTooLargeError`.
 */
export interface JobQueue<T = JobPayload> extends Resource {
  /** The queue's name. */
  readonly name: string;
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Enqueues several jobs at once (all are validated before any is stored); results in order. */
  enqueueMany(jobs: ReadonlyArray<{ payload: T; options?: EnqueueOptions }>): Promise<EnqueueResult[]>;
  /** Starts a worker that delivers this queue's jobs to `handler`. */
  process(handler: JobHandler<T>, options?: JobWorkerOptions): JobWorker;
  counts(): Promise<JobCounts>;
  /** The job with this id, or undefined when it is not known (never existed, or forgotten after retention). */
  getJob(id: string): Promise<JobInfo<T> | undefined>;
  /**
   * Dead-lettered jobs, oldest failure first: `offset` an integer >= 0 (default 0), `limit` an
   * integer 1–1,000 (default 100).
   */
  deadLetters(options?: { offset?: number; limit?: number }): Promise<DeadLetter<T>[]>;
  /** Puts a dead-lettered job back in line with fresh attempts; false when no such dead letter. */
  retryDeadLetter(id: string): Promise<boolean>;
  /** Deletes a dead-lettered job; false when no such dead letter. */
  removeDeadLetter(id: string): Promise<boolean>;
  /** Stops deliveries from this queue to every worker (running ones finish); enqueueing goes on. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  isPaused(): Promise<boolean>;
  /**
   * Resolves when no job is waiting, delayed or active (every job enqueued so far completed or
   * was dead-lettered); rejects with `TimeoutError` when that does not happen within `timeoutMs`
   * (1–2^31 − 1 ms, default 30,000). Workers do the work: with none running, only an empty queue
   * resolves.
   */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Closes every worker of this queue object (as `JobWorker.close`) and releases its connections. */
  close(options?: JobWorkerCloseOptions): Promise<void>;
}
