import {
  boundedHealth,
  closedHealth,
  type DeadLetter,
  type EnqueueOptions,
  type EnqueueResult,
  errorCodeOf,
  HEALTH_TIMEOUT_MS,
  type HealthReport,
  type JobCounts,
  type JobHandler,
  type JobInfo,
  type JobPayload,
  type JobQueue,
  type JobState,
  type JobWorker,
  type JobWorkerCloseOptions,
  type JobWorkerOptions,
  type Logger,
  type QueuePublishTrace,
  readLogger,
  TimeoutError,
  TraceChannels,
  traceChannel,
  traced,
} from '@voelgoed/contracts';
import type { RedisClient } from '@voelgoed/redis';
import { enqueueFailed, invalidArgument, MESSAGE_PREFIX, retryableRead } from './errors.js';
import { publishJobEvent } from './events.js';
import {
  checkName,
  decodePayload,
  fields,
  type JobArgs,
  MAX_DELAY_MS,
  numberIn,
  readJob,
  readJobs,
} from './input.js';
import { type QueueKeys, queueKeys } from './keys.js';
import { FetchPermits, type QueueRateLimit, readRateLimit } from './rate-limit.js';
import {
  countsScript,
  deadLetterScript,
  deadLettersScript,
  enqueueScript,
  getJobScript,
  pauseScript,
} from './scripts.js';
import { readGraceMs } from './shutdown.js';
import { Waker } from './waker.js';
import { RedisJobWorker } from './worker.js';

/** Options of {@link createRedisJobQueue}. */
export interface RedisJobQueueOptions {
  /**
   * How long a delivery holds its job without renewing, ms (1,000–2^31 − 1). The worker renews
   * every third of it while the handler runs; a crashed worker's jobs come back after at most
   * this long. Default 30,000.
   */
  leaseMs?: number;
  /** Largest payload, in bytes (JSON text as UTF-8, or the bytes). Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * How long a completed job's id is remembered (an enqueue with that id stores nothing), ms;
   * 0 forgets it at once. Default 86,400,000 (one day).
   */
  retentionMs?: number;
  /**
   * At most `max` deliveries per `perMs` across every worker of this queue in every process
   * (bursts of `burst`, default 1), on the rate limiter of `@voelgoed/redis`. Default: none.
   */
  rateLimit?: QueueRateLimit;
  /**
   * Where to log what an operator needs to know: a job dead-lettered (warn: queue, job id,
   * attempts, error code), a delivery's lease lost (warn), a handler that failed (info: error
   * code, the job is retried), a worker closed with jobs still running after its grace (warn).
   * Never a payload or an error message. Default: nothing is logged.
   */
  logger?: Logger;
}

const publishing = traceChannel(TraceChannels.queuePublish);

/** The carrier a traced enqueue stores with its jobs (JSON), or nothing when it is empty. */
function carrierOf(ctx: QueuePublishTrace | undefined): string | undefined {
  if (ctx === undefined) return undefined;
  for (const _ in ctx.carrier) return JSON.stringify(ctx.carrier);
  return undefined;
}

/** Runs a traced enqueue, noting its error code in the trace context when it fails. */
async function noteFailure<R>(ctx: QueuePublishTrace | undefined, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (error) {
    if (ctx) ctx.errorCode = errorCodeOf(error);
    throw error;
  }
}

/** Jobs per enqueue script call: bounds one call's run time on the server. */
const BATCH = 500;
const STATES: Record<string, JobState> = {
  waiting: 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  dead: 'dead-lettered',
};

const text = (b: unknown) => (typeof b === 'string' ? b : String(b ?? ''));

/**
 * A {@link JobQueue} on Redis (standalone, Cluster or Sentinel, through `@voelgoed/redis`): all of
 * a queue's keys share one hash slot, every state change is one Lua script, and every fetch also
 * does the sweeping (due delayed jobs, leases that ran out), so no other process is needed.
 */
export class RedisJobQueue<T = JobPayload> implements JobQueue<T> {
  readonly name: string;
  readonly #redis: RedisClient;
  readonly #keys: QueueKeys;
  readonly #leaseMs: number;
  readonly #maxPayloadBytes: number;
  readonly #retentionMs: number;
  readonly #waker: Waker;
  readonly #permits: FetchPermits | undefined;
  readonly #logger: Logger;
  readonly #workers = new Set<RedisJobWorker>();
  #closed = false;

  constructor(redis: RedisClient, name: string, options?: RedisJobQueueOptions) {
    if (typeof redis !== 'object' || redis === null || typeof (redis as RedisClient).command !== 'function') {
      throw invalidArgument('redis must be a RedisClient of @voelgoed/redis');
    }
    this.name = checkName(name, 'name');
    if (name.includes('{') || name.includes('}')) throw invalidArgument('name must not contain { or }');
    const o = fields(
      options,
      ['leaseMs', 'maxPayloadBytes', 'retentionMs', 'rateLimit', 'logger'] as const,
      'options',
    );
    this.#logger = readLogger(o.logger, MESSAGE_PREFIX);
    this.#leaseMs =
      o.leaseMs === undefined ? 30_000 : numberIn(o.leaseMs, 'leaseMs', 1_000, MAX_DELAY_MS, true);
    this.#maxPayloadBytes =
      o.maxPayloadBytes === undefined
        ? 1024 * 1024
        : numberIn(o.maxPayloadBytes, 'maxPayloadBytes', 1, 512 * 1024 * 1024, true);
    this.#retentionMs =
      o.retentionMs === undefined
        ? 86_400_000
        : numberIn(o.retentionMs, 'retentionMs', 0, MAX_DELAY_MS, true);
    const rateLimit = readRateLimit(o.rateLimit);
    this.#permits = rateLimit && new FetchPermits(redis, name, rateLimit);
    this.#redis = redis;
    this.#keys = queueKeys(name);
    this.#waker = new Waker(redis, this.#keys.wakeChannel);
  }

  /** How long a completed job's id is remembered, ms (the `retentionMs` option). */
  get retentionMs(): number {
    return this.#retentionMs;
  }

  #run<R>(script: typeof countsScript, args: (string | number)[]): Promise<R> {
    const all = [this.#keys.jobPrefix, this.#keys.wakeChannel, ...args];
    return script.run<R>(this.#redis, this.#keys.list, all);
  }

  /**
   * {@link #run} for a call whose repeat changes nothing (a read; counts' promotion of due jobs
   * is idempotent): its timeout or dropped connection is retryable even when it may have run,
   * which the Redis client cannot know of a script (it says not retryable for any EVALSHA).
   */
  #read<R>(script: typeof countsScript, args: (string | number)[]): Promise<R> {
    return this.#run<R>(script, args).catch((error: unknown) => {
      throw retryableRead(error);
    });
  }

  /**
   * Traced on `voelgoed:queue:publish` when someone subscribes: the propagation fields a
   * subscriber puts in the carrier are stored with the job (nothing is stored otherwise).
   */
  enqueue(payload: T, options?: EnqueueOptions): Promise<EnqueueResult> {
    if (!publishing.hasSubscribers) return this.#enqueue(payload, options, undefined);
    return traced(
      publishing,
      (): QueuePublishTrace => ({ queue: this.name, count: 1, carrier: {} }),
      (ctx) => noteFailure(ctx, () => this.#enqueue(payload, options, ctx)),
    );
  }

  async #enqueue(
    payload: T,
    options: EnqueueOptions | undefined,
    ctx: QueuePublishTrace | undefined,
  ): Promise<EnqueueResult> {
    const job = readJob(payload, options, this.#maxPayloadBytes);
    if (ctx) ctx.jobId = job.args[0];
    const [result] = await this.#store([job.args], [job.idGiven], carrierOf(ctx));
    // biome-ignore lint/style/noNonNullAssertion: #store resolves with one result per job given (one here)
    return result!;
  }

  enqueueMany(jobs: ReadonlyArray<{ payload: T; options?: EnqueueOptions }>): Promise<EnqueueResult[]> {
    if (!publishing.hasSubscribers) return this.#enqueueMany(jobs, undefined);
    return traced(
      publishing,
      (): QueuePublishTrace => ({ queue: this.name, count: 0, batch: true, carrier: {} }),
      (ctx) => noteFailure(ctx, () => this.#enqueueMany(jobs, ctx)),
    );
  }

  async #enqueueMany(
    jobs: ReadonlyArray<{ payload: T; options?: EnqueueOptions }>,
    ctx: QueuePublishTrace | undefined,
  ): Promise<EnqueueResult[]> {
    const list = readJobs(jobs, this.#maxPayloadBytes);
    if (ctx) ctx.count = list.length;
    const carrier = carrierOf(ctx);
    const given = list.map((job) => job.idGiven);
    const results: EnqueueResult[] = [];
    for (let i = 0; i < list.length; i += BATCH) {
      const batch = list.slice(i, i + BATCH).map((job) => job.args);
      results.push(...(await this.#store(batch, given.slice(0, i + BATCH), carrier)));
    }
    return results;
  }

  /**
   * `given`: whether each job had a caller-given id (earlier batches' included: a retry repeats
   * them). `carrier`: the trace carrier (JSON) to keep with every job, when traced.
   */
  async #store(jobs: JobArgs[], given: boolean[], carrier: string | undefined): Promise<EnqueueResult[]> {
    const started = performance.now();
    let created: number[];
    try {
      const args: (string | number)[] = [jobs.length, ...jobs.flat()];
      if (carrier !== undefined) args.push(carrier);
      created = await this.#run<number[]>(enqueueScript, args);
    } catch (error) {
      throw enqueueFailed(error, given.every(Boolean));
    }
    const durationMs = performance.now() - started;
    return jobs.map((job, i) => {
      const isNew = Number(created[i]) === 1;
      if (isNew) publishJobEvent({ queue: this.name, event: 'enqueued', durationMs });
      return { id: job[0], created: isNew };
    });
  }

  process(handler: JobHandler<T>, options?: JobWorkerOptions): JobWorker {
    if (typeof handler !== 'function') throw invalidArgument('handler must be a function');
    const o = fields(options, ['concurrency'] as const, 'worker options');
    const concurrency =
      o.concurrency === undefined ? 1 : numberIn(o.concurrency, 'concurrency', 1, 1000, true);
    if (this.#closed) throw invalidArgument('the queue is closed');
    const worker = new RedisJobWorker(
      {
        name: this.name,
        redis: this.#redis,
        keys: this.#keys,
        leaseMs: this.#leaseMs,
        retentionMs: this.#retentionMs,
        waker: this.#waker,
        permits: this.#permits,
        logger: this.#logger,
      },
      handler as JobHandler,
      concurrency,
    );
    this.#workers.add(worker);
    return worker;
  }

  async counts(): Promise<JobCounts> {
    // The script always answers with these seven numbers.
    const [ready = 0, due = 0, delayed = 0, active = 0, lapsed = 0, dead = 0, age = 0] = (
      await this.#read<number[]>(countsScript, [])
    ).map(Number);
    const waiting = ready + due + lapsed;
    return {
      waiting,
      delayed,
      active,
      deadLettered: dead,
      oldestWaitingMs: waiting === 0 ? 0 : Math.max(0, age),
    };
  }

  async getJob(id: string): Promise<JobInfo<T> | undefined> {
    checkName(id, 'id');
    const reply = await this.#read<unknown[]>(getJobScript, [id]);
    if (reply.length === 0) return undefined;
    const state = STATES[text(reply[0])] ?? 'waiting';
    const kind = text(reply[1]);
    const payload = text(reply[2]);
    return {
      id,
      state,
      ...(state === 'completed' || kind === '' ? {} : { payload: decodePayload(kind, payload) as T }),
      failures: Number(text(reply[3])),
      deliveryToken: Number(text(reply[4])),
    };
  }

  async deadLetters(options?: { offset?: number; limit?: number }): Promise<DeadLetter<T>[]> {
    const o = fields(options, ['offset', 'limit'] as const, 'dead-letter options');
    const offset =
      o.offset === undefined ? 0 : numberIn(o.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, true);
    const limit = o.limit === undefined ? 100 : numberIn(o.limit, 'limit', 1, 1000, true);
    const reply = await this.#read<unknown[]>(deadLettersScript, [offset, limit]);
    const out: DeadLetter<T>[] = [];
    for (let i = 0; i + 5 < reply.length; i += 6) {
      let error: DeadLetter['error'] = { name: 'Error', message: '' };
      try {
        error = JSON.parse(text(reply[i + 5]));
      } catch {
        // kept as the empty error above
      }
      out.push({
        id: text(reply[i]),
        failedAt: Number(text(reply[i + 1])),
        payload: decodePayload(text(reply[i + 2]), text(reply[i + 3])) as T,
        attempts: Number(text(reply[i + 4])),
        error,
      });
    }
    return out;
  }

  async retryDeadLetter(id: string): Promise<boolean> {
    checkName(id, 'id');
    return Number(await this.#run(deadLetterScript, [id, 'retry'])) === 1;
  }

  async removeDeadLetter(id: string): Promise<boolean> {
    checkName(id, 'id');
    return Number(await this.#run(deadLetterScript, [id, 'remove'])) === 1;
  }

  async pause(): Promise<void> {
    await this.#run(pauseScript, ['pause']);
  }

  async resume(): Promise<void> {
    await this.#run(pauseScript, ['resume']);
  }

  async isPaused(): Promise<boolean> {
    return Number(await this.#read(pauseScript, ['get'])) === 1;
  }

  async drain(options?: { timeoutMs?: number }): Promise<void> {
    const o = fields(options, ['timeoutMs'] as const, 'drain options');
    const timeoutMs =
      o.timeoutMs === undefined ? 30_000 : numberIn(o.timeoutMs, 'timeoutMs', 0, MAX_DELAY_MS);
    if (timeoutMs === 0) throw invalidArgument('timeoutMs must be greater than 0');
    const until = performance.now() + timeoutMs;
    for (let wait = 5; ; wait = Math.min(200, wait * 2)) {
      const c = await this.counts();
      if (c.waiting + c.delayed + c.active === 0) return;
      const left = until - performance.now();
      if (left <= 0) {
        throw new TimeoutError(
          `${MESSAGE_PREFIX} the queue did not drain within ${timeoutMs} ms (${c.waiting} waiting, ${c.delayed} delayed, ${c.active} active)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)));
    }
  }

  /**
   * Its Redis client's health (a PING within a second), `down` after {@link close}. Never
   * throws. `details.queue` names the queue.
   */
  health(): Promise<HealthReport> {
    const target = this.#redis.target;
    if (this.#closed) return Promise.resolve(closedHealth('queue', target));
    return boundedHealth(
      'queue',
      async () => {
        const { status, latencyMs, error } = await this.#redis.health();
        return {
          status,
          resource: 'queue',
          target,
          ...(latencyMs === undefined ? {} : { latencyMs }),
          ...(error === undefined ? {} : { error }),
          details: { queue: this.name },
        };
      },
      { timeoutMs: HEALTH_TIMEOUT_MS + 250, target },
    );
  }

  async close(options?: JobWorkerCloseOptions): Promise<void> {
    readGraceMs(options);
    this.#closed = true;
    await Promise.all([...this.#workers].map((w) => w.close(options)));
    await this.#waker.close();
  }
}

/** Creates a {@link RedisJobQueue} named `name` on `redis` (a client of `@voelgoed/redis`, which stays the caller's). */
export function createRedisJobQueue<T = JobPayload>(
  redis: RedisClient,
  name: string,
  options?: RedisJobQueueOptions,
): RedisJobQueue<T> {
  return new RedisJobQueue<T>(redis, name, options);
}
