import { randomUUID } from 'node:crypto';
import {
  ConnectionError,
  fieldsOf,
  type HealthReport,
  InfrastructureError,
  InvalidArgumentError,
  isInfrastructureError,
  type JobDelivery,
  type JobQueue,
  type JobWorker,
  type JobWorkerCloseOptions,
  type JobWorkerOptions,
  type Logger,
  readLogger,
  readOptions,
  refuseUnknownFields,
  TimeoutError,
} from '@voelgoed/contracts';
import { MESSAGE_PREFIX } from '../errors.js';
import { mergeHeaders } from '../headers.js';
import { MAX_TIMER_MS } from '../options.js';
import {
  attemptWebhook,
  checkWebhookRequest,
  checkWebhookTarget,
  report,
  SENDER_FIELDS,
  setUpWebhookSender,
  type WebhookAttempt,
  type WebhookDeliveryResult,
  type WebhookMessage,
  type WebhookSenderOptions,
  type WebhookSenderSetup,
  wait,
  webhookBody,
  webhookHealth,
} from './deliver.js';
import { signWebhook } from './standard-webhooks.js';

// Durable delivery: every attempt is one job. The first is `<id>#1`; an attempt that should be
// retried stores the next as `<id>#<n + 1>`, due after the schedule's wait, before its own job
// completes. The ids are deterministic, so a crash between the two stores nothing twice, and the
// queue's own attempts/backoff are not used for the schedule (its backoff is exponential with
// full jitter, which cannot follow an arbitrary schedule such as Standard Webhooks').

/** Longest job id the `JobQueue` port accepts. */
const MAX_JOB_ID = 256;

/**
 * One attempt of a durable webhook as it is stored in the queue: never a secret (signatures are
 * made at send time, with the sender's secret and a fresh `webhook-timestamp`).
 */
export interface WebhookJob {
  /** Format of this record. */
  v: 1;
  /** The `webhook-id`, the same on every attempt. */
  id: string;
  /** This job's attempt, 1 for the first. */
  attempt: number;
  /**
   * Spaces that hold room for the digits later attempt numbers gain (`attempt: 1` with `pad: ' '`
   * when the schedule reaches attempt 10), so a later attempt's record is never larger than the
   * first's, which the queue accepted. Absent when no room is needed.
   */
  pad?: string;
  url: string;
  /** How `body` holds the raw body: JSON text or text as it is (sent as UTF-8), or bytes as base64. */
  format: 'json' | 'text' | 'bytes';
  body: string;
  /** The message's own headers (the sender's `headers` option is added at send time, not stored). */
  headers?: Record<string, string>;
}

/** What to deliver durably: as {@link WebhookMessage}, without a signal (delivery outlives the caller). */
export type DurableWebhookMessage = Omit<WebhookMessage, 'signal'>;

/** What {@link DurableWebhookSender.deliver} did. */
export interface WebhookAccepted {
  /** The `webhook-id` (the message's, or a new random `msg_…`). */
  id: string;
  /** False when a delivery with this id was already accepted (nothing was stored). */
  created: boolean;
}

/** How a durable delivery ended, as {@link DurableWebhookSenderOptions.onOutcome} reports it. */
export interface WebhookOutcome {
  id: string;
  /** `exhausted` (every attempt of the schedule ended in `retry`) also dead-letters the last job. */
  outcome: WebhookDeliveryResult['outcome'];
  /** The attempt that ended it. */
  attempt: WebhookAttempt;
}

export interface DurableWebhookSenderOptions extends WebhookSenderOptions {
  /** Called when a delivery ends, in the process that made its last attempt. */
  onOutcome?: (outcome: WebhookOutcome) => void;
  /**
   * Where to log deliveries that end undelivered: warn when one is dead-lettered (its schedule
   * exhausted), with its id, attempts, last status or error code and the target host; never
   * the payload, the secret or the URL's path and query (default: nothing is logged).
   */
  logger?: Logger;
}

/** A webhook sender whose pending deliveries live in a {@link JobQueue}, so they survive restarts. */
export interface DurableWebhookSender {
  /**
   * Validates the message (`INVALID_ARGUMENT` before anything is stored) and stores its first
   * attempt; resolves once the queue holds it. Idempotent on the message id: a second delivery
   * with an id the queue still knows stores nothing and resolves with `created: false`. A failure
   * that may have stored it is `retryable` only for a message with its own `id` (a retry without
   * one would store the webhook again under a new id).
   */
  deliver(message: DurableWebhookMessage): Promise<WebhookAccepted>;
  /**
   * Runs deliveries in this process: a worker on the queue (any process with the same queue and
   * secret may run one). Each attempt is signed when it is sent.
   */
  start(options?: JobWorkerOptions): JobWorker;
  /**
   * `down` after `close()` or while the queue is down; `degraded` while an HTTP breaker is open.
   * Never throws.
   */
  health(): Promise<HealthReport>;
  /** Closes the workers this sender started (running attempts get `graceMs`), then its HTTP client. The queue stays open. */
  close(options?: JobWorkerCloseOptions): Promise<void>;
}

const invalid = (message: string) => new InvalidArgumentError(`${MESSAGE_PREFIX} ${message}`);

/** The id of a delivery's nth attempt job: always suffixed, so `a#2` (attempt 1) never meets `a` (attempt 2). */
export function webhookJobId(id: string, attempt: number): string {
  return `${id}#${attempt}`;
}

/** Reads a stored job, refusing anything that is not one (another producer's job on this queue). */
function readJob(payload: unknown): WebhookJob {
  const job = payload as Partial<WebhookJob> | null;
  if (
    typeof job !== 'object' ||
    job === null ||
    job.v !== 1 ||
    typeof job.id !== 'string' ||
    typeof job.url !== 'string' ||
    typeof job.body !== 'string' ||
    !Number.isInteger(job.attempt) ||
    (job.attempt as number) < 1 ||
    !['json', 'text', 'bytes'].includes(job.format as string) ||
    (job.pad !== undefined && typeof job.pad !== 'string') ||
    (job.headers !== undefined && (typeof job.headers !== 'object' || job.headers === null))
  ) {
    throw invalid('a job on the webhook queue is not a webhook job (v1)');
  }
  return job as WebhookJob;
}

/** Dead-letters an exhausted delivery: its `code` is the last attempt's (`HTTP_STATUS`, `CONNECTION`, `TIMEOUT`, …). */
class WebhookExhaustedError extends Error {
  readonly code: string;

  constructor(attempt: WebhookAttempt) {
    const last = attempt.status !== undefined ? `HTTP ${attempt.status}` : (attempt.errorCode ?? 'UNKNOWN');
    super(
      `${MESSAGE_PREFIX} webhook ${attempt.id} not delivered after ${attempt.attempt} attempts (last: ${last})`,
    );
    this.name = 'WebhookExhaustedError';
    this.code = attempt.status !== undefined ? 'HTTP_STATUS' : (attempt.errorCode ?? 'UNKNOWN');
  }
}

/** The host of a webhook URL, for a log line: never its user info, path or query (they may hold tokens). */
function targetHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-url';
  }
}

/** Checks the queue and the options this sender adds to a plain sender's; `INVALID_ARGUMENT` otherwise. */
function checkDurableArguments(queue: JobQueue, options: DurableWebhookSenderOptions): void {
  if (
    typeof queue !== 'object' ||
    queue === null ||
    typeof queue.enqueue !== 'function' ||
    typeof queue.process !== 'function' ||
    typeof queue.getJob !== 'function'
  ) {
    throw invalid('queue must be a JobQueue');
  }
  if (typeof options !== 'object' || options === null)
    throw invalid('webhook sender options must be an object');
  if (options.onOutcome !== undefined && typeof options.onOutcome !== 'function')
    throw invalid('onOutcome must be a function');
  refuseUnknownFields(options, DURABLE_FIELDS, 'webhook sender options', MESSAGE_PREFIX);
}

/**
 * A copy of `close()`'s options, checked as a queue's worker checks them (`graceMs` from 0 to
 * 2^31 - 1 ms, no other field): before the sender is marked closed, so a bad call changes nothing.
 */
function readCloseOptions(options: unknown): JobWorkerCloseOptions {
  const { graceMs } = readOptions(options, CLOSE_FIELDS, 'close options', MESSAGE_PREFIX);
  if (graceMs === undefined) return {};
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_TIMER_MS) {
    throw invalid(`close options.graceMs must be a number from 0 to ${MAX_TIMER_MS}`);
  }
  return { graceMs };
}

const CLOSE_FIELDS = fieldsOf<JobWorkerCloseOptions>()(['graceMs']);

/** The fields of {@link DurableWebhookSenderOptions}: any other (a misspelt `schedule`) is refused. */
const DURABLE_FIELDS = fieldsOf<DurableWebhookSenderOptions>()([...SENDER_FIELDS, 'onOutcome', 'logger']);
const DURABLE_MESSAGE_FIELDS = fieldsOf<DurableWebhookMessage>()(['url', 'payload', 'id', 'headers']);

/**
 * The longest webhook id whose last attempt's job id still fits the queue's id limit (every
 * wait of the schedule, jitter included, already fits a queue's `delayMs`: a timer's limit).
 */
function maxWebhookIdLength(schedule: readonly number[]): number {
  return MAX_JOB_ID - `#${schedule.length + 1}`.length;
}

/**
 * `job` as attempt `attempt`, its record no larger: the attempt number's digits and `pad` keep
 * their length while the pad lasts (a worker whose schedule is longer than the one that stored
 * the first attempt may still outgrow it).
 */
function asAttempt(job: WebhookJob, attempt: number): WebhookJob {
  const { pad, ...rest } = job;
  const room = String(job.attempt).length + (pad?.length ?? 0) - String(attempt).length;
  return { ...rest, attempt, ...(room > 0 ? { pad: ' '.repeat(room) } : {}) };
}

/**
 * The first attempt's job for a message: checked (target, id, payload, headers) as signing and
 * sending will need it (the request as the plain sender's first attempt checks it), with room for the digits of `maxAttempt` (see {@link WebhookJob.pad}): a delivery the
 * queue accepts can store every attempt of its schedule.
 */
function firstWebhookJob(
  message: DurableWebhookMessage,
  setup: WebhookSenderSetup,
  maxIdLength: number,
  maxAttempt: number,
): WebhookJob {
  const { options } = setup;
  // No `signal`: a durable delivery outlives the call that accepted it.
  checkWebhookTarget(message, options.allowHttp, DURABLE_MESSAGE_FIELDS);
  if (typeof message.url !== 'string') throw invalid('webhook url must be a string');
  const id = message.id ?? `msg_${randomUUID().replace(/-/g, '')}`;
  // The one webhook-id rule (visible ASCII, no dot), as signing applies it.
  const signature = signWebhook({ payload: '', secret: options.secret, id });
  if (id.length > maxIdLength) {
    throw invalid(`webhook id must be at most ${maxIdLength} characters with this schedule`);
  }
  const { bytes, json } = webhookBody(message.payload);
  const headers: Record<string, string> = {};
  mergeHeaders(headers, message.headers, 'message headers');
  // What the client would refuse when the attempt is sent (a `content-length` that is not the
  // body's) is refused now: stored, it could only be dead-lettered.
  checkWebhookRequest(setup, { url: message.url, id, bytes, json, headers, attempt: 1 }, signature);
  const room = String(maxAttempt).length - 1;
  return {
    v: 1,
    id,
    attempt: 1,
    ...(room > 0 ? { pad: ' '.repeat(room) } : {}),
    url: message.url,
    format: json ? 'json' : typeof bytes === 'string' ? 'text' : 'bytes',
    body:
      typeof bytes === 'string'
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

/**
 * An enqueue failure of a delivery whose id deliver() generated. The queue calls an enqueue that
 * may have stored its job retryable when the job had an id (enqueueing it again stores nothing),
 * but that id is one the caller never saw: calling deliver() again would store the webhook a
 * second time under a new id, and the receiver could not tell the two apart. So an error that
 * may have stored it is not retryable (`maybeExecuted`); the message names the id it may be under.
 */
function notRetryableWithNewId(error: unknown, id: string): unknown {
  if (!isInfrastructureError(error) || !error.retryable) return error;
  // Retryable and not maybeExecuted: the queue knows nothing was stored, so a new id is harmless.
  if ((error as { maybeExecuted?: unknown }).maybeExecuted !== true) return error;
  const message = `${MESSAGE_PREFIX} webhook ${id} may have been stored (its id was generated, so deliver() is not retryable; pass an id to make it so): ${error.message}`;
  const options = { retryable: false, maybeExecuted: true, cause: error };
  if (error.code === 'TIMEOUT') return new TimeoutError(message, options);
  if (error.code === 'CONNECTION') return new ConnectionError(message, options);
  return Object.assign(new InfrastructureError(error.code, message, options), { maybeExecuted: true });
}

/** What a worker needs to run one attempt job. */
interface DurableContext {
  readonly queue: JobQueue;
  readonly setup: WebhookSenderSetup;
  readonly onOutcome: ((outcome: WebhookOutcome) => void) | undefined;
  readonly logger: Logger;
}

/** Stores the next attempt's job; idempotent (a deterministic id), so a failed store is tried again. */
async function storeNextAttempt(
  queue: JobQueue,
  job: WebhookJob,
  delayMs: number,
  signal: AbortSignal,
): Promise<void> {
  for (let tries = 1; ; tries++) {
    try {
      await queue.enqueue(job, { id: webhookJobId(job.id, job.attempt), delayMs, attempts: 1 });
      return;
    } catch (error) {
      const mistake =
        isInfrastructureError(error, 'INVALID_ARGUMENT') || isInfrastructureError(error, 'PAYLOAD_TOO_LARGE');
      if (mistake || tries >= 3 || signal.aborted) throw error;
      await wait(200 * tries, signal);
    }
  }
}

/** Sends the attempt a job holds, signed now. */
function sendAttempt(
  setup: WebhookSenderSetup,
  job: WebhookJob,
  signal: AbortSignal,
): Promise<WebhookAttempt> {
  return attemptWebhook(setup, {
    url: job.url,
    id: job.id,
    bytes: job.format === 'bytes' ? Buffer.from(job.body, 'base64') : job.body,
    json: job.format === 'json',
    headers: job.headers,
    attempt: job.attempt,
    signal,
  });
}

/** Reports an exhausted delivery and fails its last job with `WebhookExhaustedError` (the queue dead-letters it). */
function deadLetter(context: DurableContext, job: WebhookJob, record: WebhookAttempt): never {
  report(
    context.onOutcome,
    { id: job.id, outcome: 'exhausted', attempt: record },
    context.logger,
    'onOutcome',
    job.id,
  );
  const error = new WebhookExhaustedError(record);
  context.logger.warn(
    {
      webhookId: job.id,
      host: targetHost(job.url),
      attempts: record.attempt,
      ...(record.status === undefined ? {} : { status: record.status }),
      errorCode: error.code,
    },
    'webhook delivery dead-lettered',
  );
  throw error;
}

/**
 * Runs one attempt job: skips a redelivered attempt whose successor is already stored, sends it,
 * then reports the outcome, dead-letters an exhausted delivery, or stores the next attempt.
 */
async function runAttemptJob(context: DurableContext, delivery: JobDelivery): Promise<void> {
  const { queue } = context;
  const job = readJob(delivery.payload);
  const next = asAttempt(job, job.attempt + 1);
  // A redelivery (the worker before died or lost its lease): if it already stored the next
  // attempt, this one was made; sending it again would only add a duplicate.
  if (delivery.deliveryCount > 1 && (await queue.getJob(webhookJobId(job.id, next.attempt))) !== undefined) {
    return;
  }
  const record = await sendAttempt(context.setup, job, delivery.signal);
  if (record.outcome !== 'retry') {
    report(
      context.onOutcome,
      { id: job.id, outcome: record.outcome, attempt: record },
      context.logger,
      'onOutcome',
      job.id,
    );
    return;
  }
  if (record.nextDelayMs === undefined) deadLetter(context, job, record);
  await storeNextAttempt(queue, next, record.nextDelayMs, delivery.signal);
}

/**
 * Creates a durable webhook sender on `queue` (a `JobQueue`: `createRedisJobQueue` from
 * `@voelgoed/queue` in production, `MemoryJobQueue` in tests; give it a queue of its own).
 * The same signing, SSRF guard, classification and schedule as {@link createWebhookSender}, but
 * `deliver` only stores the first attempt and `start()` runs them: a delivery accepted before a
 * crash goes out after the restart, on its schedule, with the same `webhook-id`.
 */
export function createDurableWebhookSender(
  queue: JobQueue,
  options: DurableWebhookSenderOptions,
): DurableWebhookSender {
  checkDurableArguments(queue, options);
  const { onOutcome } = options;
  const logger = readLogger(options.logger, MESSAGE_PREFIX);
  const setup = setUpWebhookSender(options, logger);
  const maxIdLength = maxWebhookIdLength(setup.schedule);
  const maxAttempt = setup.schedule.length + 1;
  const context: DurableContext = { queue, setup, onOutcome, logger };
  const run = (delivery: JobDelivery) => runAttemptJob(context, delivery);
  const workers = new Set<JobWorker>();
  let closed = false;

  return {
    async deliver(message: DurableWebhookMessage): Promise<WebhookAccepted> {
      const job = firstWebhookJob(message, setup, maxIdLength, maxAttempt);
      try {
        const result = await queue.enqueue(job, { id: webhookJobId(job.id, 1), attempts: 1 });
        return { id: job.id, created: result.created };
      } catch (error) {
        throw message.id === undefined ? notRetryableWithNewId(error, job.id) : error;
      }
    },

    start(workerOptions?: JobWorkerOptions): JobWorker {
      if (closed) throw invalid('the durable webhook sender is closed');
      const worker = queue.process(run, workerOptions);
      workers.add(worker);
      return worker;
    },

    health(): Promise<HealthReport> {
      return webhookHealth(setup.client, closed, queue);
    },

    async close(closeOptions?: JobWorkerCloseOptions): Promise<void> {
      // Checked first, whatever the state: a bad call must not leave the sender half closed.
      const checked = readCloseOptions(closeOptions);
      closed = true;
      await Promise.all([...workers].map((worker) => worker.close(checked)));
      await setup.client.close();
    },
  };
}
