import type { JobCounts, JobQueue } from '@voelgoed/contracts';
import { invalidArgument } from './errors.js';
import type { CounterInstrument, GaugeInstrument, InstrumentFactory, SeriesKey } from './prom-instruments.js';

/** The `state` label of `voelgoed_queue_depth` and the {@link JobCounts} field it shows. */
const STATES = [
  ['waiting', 'waiting'],
  ['delayed', 'delayed'],
  ['active', 'active'],
  ['dead_lettered', 'deadLettered'],
] as const satisfies readonly (readonly [string, keyof JobCounts])[];

/** Names (prefixed) of the metrics of {@link JobQueueGauges}. */
export interface JobQueueGaugeNames {
  readonly jobs: string;
  readonly oldestWaiting: string;
  readonly errors: string;
}

interface Observed {
  readonly queue: JobQueue;
  /** A `counts()` call has not settled yet (it is not called again until it has). */
  pending: boolean;
}

interface Sample {
  readonly queue: string;
  readonly counts: JobCounts;
}

/** What a `counts()` call that outlived its time box resolves to. */
const TIMED_OUT = Symbol('timed out');

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** The error's code as the `error_type` label: its `code` when it has a string one, else `error`. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'error';
}

/**
 * Depth and oldest-waiting age of job queues, sampled at scrape time: each collection calls
 * `counts()` once per observed queue (both gauges share the calls of one collection), each call
 * time-boxed. A queue whose call fails or outlives its time box shows no samples in that
 * collection, and the failure is counted by queue and error type; a call still running from an
 * earlier collection is not made again (it counts as timed out again).
 */
export class JobQueueGauges {
  readonly #queues = new Map<string, Observed>();
  readonly #jobs: GaugeInstrument;
  readonly #oldest: GaugeInstrument;
  readonly #errors: CounterInstrument;
  #collection: Promise<Sample[]> | undefined;

  constructor(
    factory: InstrumentFactory,
    names: JobQueueGaugeNames,
    readonly timeoutMs: number,
  ) {
    this.#jobs = factory.gauge(
      names.jobs,
      'Jobs of each observed queue by state (waiting, delayed, active, dead_lettered), sampled at each scrape.',
      ['queue', 'state'],
      () => this.#collectJobs(),
    );
    this.#oldest = factory.gauge(
      names.oldestWaiting,
      'Age of the job that has waited longest among the ready ones of each observed queue (0 when none waits), sampled at each scrape.',
      ['queue'],
      () => this.#collectOldest(),
    );
    this.#errors = factory.counter(
      names.errors,
      "Scrapes that showed no samples of a queue because its counts() failed or outlived the callback time box, by queue and error_type (the error's code, TIMEOUT, or error).",
      ['queue', 'error_type'],
    );
  }

  /** Adds queues (checked first: nothing is added when one is bad); returns what removes them again. */
  observe(queues: unknown): () => void {
    if (!Array.isArray(queues)) throw invalidArgument('observeJobQueues takes an array of JobQueue');
    const added: Observed[] = [];
    const names = new Map<string, JobQueue>();
    for (const [i, queue] of queues.entries()) {
      const q = queue as Partial<JobQueue> | null;
      if (
        typeof q !== 'object' ||
        q === null ||
        typeof q.name !== 'string' ||
        q.name === '' ||
        typeof q.counts !== 'function'
      ) {
        throw invalidArgument(`observeJobQueues: item ${i} is not a JobQueue (a name and counts())`);
      }
      const other = this.#queues.get(q.name)?.queue ?? names.get(q.name);
      if (other !== undefined && other !== q) {
        throw invalidArgument(`observeJobQueues: another queue object named ${q.name} is already observed`);
      }
      names.set(q.name, q as JobQueue);
    }
    for (const [name, queue] of names) {
      if (this.#queues.has(name)) continue;
      const entry: Observed = { queue, pending: false };
      this.#queues.set(name, entry);
      added.push(entry);
    }
    return () => {
      for (const entry of added) {
        if (this.#queues.get(entry.queue.name) === entry) this.#queues.delete(entry.queue.name);
      }
    };
  }

  /** Stops observing every queue. */
  clear(): void {
    this.#queues.clear();
  }

  async #collectJobs(): Promise<void> {
    const samples = await this.#samples();
    this.#jobs.clear();
    // Added, not set: queues folded into one series (past the label limit: `__other__`) show
    // their sum, as a depth across them should.
    for (const { queue, counts } of samples) {
      for (const [state, field] of STATES) {
        const count = counts[field];
        if (isCount(count)) this.#jobs.add(this.#jobs.key([queue, state]), count);
      }
    }
  }

  async #collectOldest(): Promise<void> {
    const samples = await this.#samples();
    this.#oldest.clear();
    // Queues folded into one series show the oldest of their waiting jobs.
    const oldest = new Map<string, { key: SeriesKey; seconds: number }>();
    for (const { queue, counts } of samples) {
      if (!isCount(counts.oldestWaitingMs)) continue;
      const key = this.#oldest.key([queue]);
      const seconds = counts.oldestWaitingMs / 1000;
      const seen = oldest.get(key.hash);
      if (seen === undefined || seconds > seen.seconds) oldest.set(key.hash, { key, seconds });
    }
    for (const { key, seconds } of oldest.values()) this.#oldest.set(key, seconds);
  }

  /** The samples of the running collection: both gauges' collects of one scrape share them. */
  #samples(): Promise<Sample[]> {
    if (this.#collection !== undefined) return this.#collection;
    const collection = this.#sampleAll().finally(() => {
      if (this.#collection === collection) this.#collection = undefined;
    });
    this.#collection = collection;
    return collection;
  }

  async #sampleAll(): Promise<Sample[]> {
    const entries = [...this.#queues.values()];
    const results = await Promise.all(entries.map((entry) => this.#sample(entry)));
    return results.filter((sample): sample is Sample => sample !== undefined);
  }

  /** One queue's counts, or undefined (counted) when they fail or do not come within the time box. */
  async #sample(entry: Observed): Promise<Sample | undefined> {
    const name = entry.queue.name;
    if (entry.pending) {
      this.#fail(name, 'TIMEOUT');
      return undefined;
    }
    entry.pending = true;
    const call = (async () => entry.queue.counts())().finally(() => {
      entry.pending = false;
    });
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, TIMED_OUT);
    });
    try {
      const counts = await Promise.race([call, expired]);
      if (counts === TIMED_OUT) {
        this.#fail(name, 'TIMEOUT');
        return undefined;
      }
      if (typeof counts !== 'object' || counts === null) {
        this.#fail(name, 'error');
        return undefined;
      }
      return { queue: name, counts };
    } catch (error) {
      this.#fail(name, errorType(error));
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  #fail(queue: string, type: string): void {
    this.#errors.add(this.#errors.key([queue, type]), 1);
  }
}
