import { MAX_DELAY_MS, readOptions } from '../caller-input.js';
import { InvalidArgumentError } from '../errors.js';
import type { JobHandler, JobState, JobWorker } from '../ports/job-queue.js';
import { type JobSettings, PREFIX, type StoredPayload } from './memory-job-queue-input.js';

// The state of MemoryJobQueue's jobs and the order they wait in.

const RANK = { high: 0, normal: 1, low: 2 } as const;

/** One delivery's hold on its job: the worker, the delivery's signal, its lease and timeout. */
export interface Lease {
  readonly worker: Worker;
  readonly controller: AbortController;
  expiresAt: number;
  readonly deadline: number | undefined;
  /** Set when the queue settled the delivery before its handler did (a timeout): for its trace. */
  outcome?: 'retried' | 'dead_lettered';
}

/** A job as the queue keeps it (its payload dropped once it completed). */
export interface Job {
  readonly id: string;
  payload: StoredPayload | undefined;
  readonly settings: JobSettings;
  readonly enqueuedAt: number;
  state: JobState;
  /** When it is (or was) due. */
  runAt: number;
  /**
   * Its place in the ready line within its priority, given when it entered the line (enqueued
   * due, promoted once due, retried); kept when it goes back after a lapsed lease or a closing
   * worker, as the Redis queue does. 0 before it first entered.
   */
  order: number;
  /** When it last became ready (entered the ready line): the start of its `oldestWaitingMs`. */
  readySince: number;
  failures: number;
  token: number;
  /** Deliveries so far. */
  deliveries: number;
  lease: Lease | undefined;
  lastError: { name: string; message: string; code?: string } | undefined;
  doneAt: number;
  /** The producer's trace propagation fields, when its enqueue was traced. */
  readonly carrier: Readonly<Record<string, string>> | undefined;
}

/** A worker as the queue drives it. */
export interface Worker extends JobWorker {
  readonly handler: JobHandler<never>;
  readonly concurrency: number;
  /** Handlers that have not settled (a lost or timed-out delivery's included: it still holds its slot). */
  handlers: number;
  closing: boolean;
  readonly leased: Set<Job>;
  onChange: (() => void) | undefined;
}

/**
 * Ready-line order, as the Redis queue's: priority, then the place the job got when it entered
 * the line (enqueue order for jobs due at once, a job whose runAt has passed included; the back
 * of the line for a retried or promoted one).
 */
const before = (a: Job, b: Job): boolean =>
  RANK[a.settings.priority] !== RANK[b.settings.priority]
    ? RANK[a.settings.priority] < RANK[b.settings.priority]
    : a.order < b.order;
/** Delayed order, as a Redis sorted set's: due time, then the id's bytes. */
const dueBefore = (a: Job, b: Job): boolean =>
  a.runAt !== b.runAt ? a.runAt < b.runAt : Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)) < 0;

function insertSorted(list: Job[], job: Job, less: (a: Job, b: Job) => boolean): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (less(list[mid] as Job, job)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, job);
}

/**
 * The jobs that wait: a ready line in delivery order and the delayed ones by due time. A job's
 * `state` follows the list it is in.
 */
export class JobLine {
  readonly #ready: Job[] = [];
  readonly #delayed: Job[] = [];
  /** The last place given in the ready line. */
  #places = 0;

  get ready(): number {
    return this.#ready.length;
  }

  get delayed(): number {
    return this.#delayed.length;
  }

  /** Due time of the first delayed job (infinity when none). */
  get nextDue(): number {
    return this.#delayed[0]?.runAt ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Puts a job in the ready line (at the back, or at its earlier place when `keepPlace`: a
   * lapsed lease, a closing worker's hand-back) or among the delayed ones, by its `runAt`.
   */
  add(job: Job, now: number, keepPlace = false): void {
    if (job.runAt <= now) {
      job.state = 'waiting';
      job.readySince = now;
      if (!keepPlace || job.order === 0) job.order = ++this.#places;
      insertSorted(this.#ready, job, before);
    } else {
      job.state = 'delayed';
      insertSorted(this.#delayed, job, dueBefore);
    }
  }

  /**
   * Moves the delayed jobs whose time has come to the back of the ready line (in due order).
   * Called where the Redis queue promotes them: when a worker fetches.
   */
  promote(now: number): void {
    while (this.#delayed.length > 0 && (this.#delayed[0] as Job).runAt <= now) {
      const job = this.#delayed.shift() as Job;
      job.state = 'waiting';
      job.readySince = job.runAt;
      job.order = ++this.#places;
      insertSorted(this.#ready, job, before);
    }
  }

  /** Delayed jobs due by `now` (not yet promoted: they count as waiting). */
  dueBy(now: number): number {
    let due = 0;
    while (due < this.#delayed.length && (this.#delayed[due] as Job).runAt <= now) due++;
    return due;
  }

  /**
   * When the job that has waited longest became ready (its due time for a due delayed one);
   * infinity when none waits.
   */
  oldestReadySince(now: number): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const job of this.#ready) if (job.readySince < oldest) oldest = job.readySince;
    const first = this.#delayed[0];
    if (first !== undefined && first.runAt <= now && first.runAt < oldest) oldest = first.runAt;
    return oldest;
  }

  /** Takes the first ready job. */
  next(): Job | undefined {
    return this.#ready.shift();
  }
}

/** Reads `close` options: `graceMs` 0–2^31 − 1 (default 10,000). */
export function readCloseOptions(options: unknown): { graceMs: number } {
  const o = readOptions(options, ['graceMs'] as const, 'close options', PREFIX);
  const graceMs = o.graceMs ?? 10_000;
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_DELAY_MS) {
    throw new InvalidArgumentError(`${PREFIX} graceMs must be a number from 0 to ${MAX_DELAY_MS}`);
  }
  return { graceMs };
}
