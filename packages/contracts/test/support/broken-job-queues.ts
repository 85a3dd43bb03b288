import { MemoryJobQueue } from '../../src/memory.js';
import type {
  DeadLetter,
  EnqueueOptions,
  EnqueueResult,
  JobCounts,
  JobHandler,
  JobInfo,
  JobQueue,
  JobWorker,
  JobWorkerCloseOptions,
  JobWorkerOptions,
} from '../../src/ports/job-queue.js';

/** One defect each: the conformance suite must catch every one of them. */
export interface JobQueueDefects {
  /** An existing id is ignored: the job is stored again under a new id, reported as created. */
  dropIdempotency?: boolean;
  /** Every job is enqueued at normal priority. */
  ignorePriority?: boolean;
  /** Handlers get a signal that never aborts (timeouts, lost leases and closing workers included). */
  neverAbort?: boolean;
  /** Every delivery carries token 1. */
  reuseTokens?: boolean;
  /** Delays and run-at times are ignored: jobs are delivered at once. */
  ignoreDelay?: boolean;
  /** Workers run twice the concurrency they were asked for. */
  doubleConcurrency?: boolean;
  /** Pause does nothing. */
  ignorePause?: boolean;
  /** enqueueMany stores job by job, so the jobs before a bad one are stored. */
  storeBeforeValidating?: boolean;
  /** No payload limit. */
  noPayloadLimit?: boolean;
  /** A failure reported with attempt numbers that do not rise: every delivery says attempt 1. */
  constantAttempt?: boolean;
  /** `oldestWaitingMs` is always 0. */
  frozenWaitAge?: boolean;
  /** `oldestWaitingMs` in seconds. */
  waitAgeInSeconds?: boolean;
  /** `oldestWaitingMs` from the enqueue of the oldest job not yet delivered, delayed ones included. */
  waitAgeFromEnqueue?: boolean;
  /** `oldestWaitingMs` of the waiting job enqueued last. */
  waitAgeOfNewest?: boolean;
}

const strip = (options: EnqueueOptions | undefined, ...fields: (keyof EnqueueOptions)[]) => {
  if (typeof options !== 'object' || options === null) return options;
  const copy: Record<string, unknown> = { ...options };
  for (const field of fields) delete copy[field];
  return copy as EnqueueOptions;
};

/** A {@link MemoryJobQueue} behind a wrapper that adds the chosen defects. */
export class BrokenJobQueue implements JobQueue {
  readonly name: string;
  readonly #inner: MemoryJobQueue;
  readonly #defects: JobQueueDefects;
  /** Enqueue times by id, for the `oldestWaitingMs` defects. */
  readonly #enqueuedAt = new Map<string, number>();
  #paused = false;

  health() {
    return this.#inner.health();
  }

  constructor(name: string, defects: JobQueueDefects = {}) {
    this.name = name;
    this.#defects = defects;
    this.#inner = new MemoryJobQueue(name, defects.noPayloadLimit ? { maxPayloadBytes: 2 ** 30 } : {});
  }

  async enqueue(payload: unknown, options?: EnqueueOptions): Promise<EnqueueResult> {
    const at = Date.now();
    const result = await this.#inner.enqueue(payload, await this.#options(options));
    if (result.created) this.#enqueuedAt.set(result.id, at);
    return result;
  }

  async enqueueMany(
    jobs: ReadonlyArray<{ payload: unknown; options?: EnqueueOptions }>,
  ): Promise<EnqueueResult[]> {
    if (this.#defects.storeBeforeValidating && Array.isArray(jobs)) {
      const results: EnqueueResult[] = [];
      for (const job of jobs) results.push(await this.enqueue(job?.payload, job?.options));
      return results;
    }
    const changed = Array.isArray(jobs)
      ? await Promise.all(jobs.map(async (job) => ({ ...job, options: await this.#options(job?.options) })))
      : jobs;
    return this.#inner.enqueueMany(changed);
  }

  async #options(options: EnqueueOptions | undefined): Promise<EnqueueOptions | undefined> {
    const d = this.#defects;
    let result = options;
    if (d.ignorePriority) result = strip(result, 'priority');
    if (d.ignoreDelay) result = strip(result, 'delayMs', 'runAt');
    const id = typeof result === 'object' && result !== null ? result.id : undefined;
    if (d.dropIdempotency && typeof id === 'string' && id !== '' && (await this.#inner.getJob(id))) {
      result = strip(result, 'id');
    }
    return result;
  }

  process(handler: JobHandler, options?: JobWorkerOptions): JobWorker {
    const d = this.#defects;
    const concurrency = options?.concurrency;
    const changed =
      d.doubleConcurrency && typeof concurrency === 'number' ? { concurrency: concurrency * 2 } : options;
    const wrapped: JobHandler =
      typeof handler !== 'function'
        ? handler
        : (job) =>
            handler({
              ...job,
              ...(d.neverAbort ? { signal: new AbortController().signal } : {}),
              ...(d.reuseTokens ? { deliveryToken: 1 } : {}),
              ...(d.constantAttempt ? { attempt: 1 } : {}),
            });
    return this.#inner.process(wrapped, changed);
  }

  async counts(): Promise<JobCounts> {
    const d = this.#defects;
    const counts = await this.#inner.counts();
    if (d.frozenWaitAge) return { ...counts, oldestWaitingMs: 0 };
    if (d.waitAgeInSeconds) return { ...counts, oldestWaitingMs: counts.oldestWaitingMs / 1000 };
    if (d.waitAgeFromEnqueue || d.waitAgeOfNewest) {
      const states = d.waitAgeFromEnqueue ? ['waiting', 'delayed'] : ['waiting'];
      const times: number[] = [];
      for (const [id, at] of this.#enqueuedAt) {
        if (states.includes((await this.#inner.getJob(id))?.state ?? '')) times.push(at);
      }
      const pick = d.waitAgeFromEnqueue ? Math.min(...times) : Math.max(...times);
      return { ...counts, oldestWaitingMs: times.length === 0 ? 0 : Date.now() - pick };
    }
    return counts;
  }

  async getJob(id: string): Promise<JobInfo | undefined> {
    const info = await this.#inner.getJob(id);
    return info && this.#defects.reuseTokens
      ? { ...info, deliveryToken: Math.min(info.deliveryToken, 1) }
      : info;
  }

  deadLetters(options?: { offset?: number; limit?: number }): Promise<DeadLetter[]> {
    return this.#inner.deadLetters(options);
  }

  retryDeadLetter(id: string): Promise<boolean> {
    return this.#inner.retryDeadLetter(id);
  }

  removeDeadLetter(id: string): Promise<boolean> {
    return this.#inner.removeDeadLetter(id);
  }

  async pause(): Promise<void> {
    this.#paused = true;
    if (!this.#defects.ignorePause) await this.#inner.pause();
  }

  async resume(): Promise<void> {
    this.#paused = false;
    await this.#inner.resume();
  }

  async isPaused(): Promise<boolean> {
    return this.#paused;
  }

  drain(options?: { timeoutMs?: number }): Promise<void> {
    return this.#inner.drain(options);
  }

  close(options?: JobWorkerCloseOptions): Promise<void> {
    return this.#inner.close(options);
  }

  expireLease(id: string): Promise<boolean> {
    return this.#inner.expireLease(id);
  }
}
